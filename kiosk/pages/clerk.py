"""The clerk screens under ``/clerk``: sign-in, loading, taking back, compartments and
technician actions, accounts and API keys, the audit log.

Pages are rendered with what they show; every change goes through the JSON API from
``static/clerk.js`` with the session's CSRF token (``<meta name="csrf-token">``). Every page
view is activity of the server-side session, and the page signs out by itself after
inactivity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlmodel import col, select
from starlette.responses import Response

from kiosk.api.deps import core, identify, signer
from kiosk.pages.citizen import bank_picture
from kiosk.pages.render import language, page
from kiosk.schemas import CompartmentOut
from locker.db import reading
from locker.models import AuditEvent, Compartment, Delivery
from locker.services.accounts import Principal
from locker.vocabulary import DeliveryState, DocumentType, Role, Size

router = APIRouter(prefix="/clerk", include_in_schema=False)
AUDIT_ROWS = 200

# (path, message key, roles that see it)
NAV: Sequence[tuple[str, str, frozenset[Role]]] = (
    ("/clerk/load", "nav_load", frozenset({Role.CLERK})),
    ("/clerk/retrieval", "nav_retrieval", frozenset({Role.CLERK})),
    ("/clerk/compartments", "nav_compartments", frozenset(Role)),
    ("/clerk/statistics", "nav_statistics", frozenset({Role.CLERK, Role.ADMIN})),
    ("/clerk/admin", "nav_admin", frozenset({Role.ADMIN})),
    ("/clerk/webhooks", "nav_webhooks", frozenset({Role.ADMIN})),
    ("/clerk/audit", "nav_audit", frozenset({Role.ADMIN})),
)


def _signed_in(request: Request) -> Principal | None:
    """The staff member of the session cookie (API keys do not open pages)."""
    found = identify(request)
    if found is None or found[1]:
        return None
    return found[0]


def idle_seconds(request: Request) -> int:
    """Sign-out after inactivity: short on a shared screen, never past the session's limit."""
    settings = core(request).settings
    return min(
        settings.security.session_idle_minutes * 60, max(120, 3 * settings.kiosk.inactivity_s)
    )


def local(request: Request, moment: datetime | None) -> str:
    """``moment`` as the locker's local time, for people."""
    if moment is None:
        return ""
    zone = ZoneInfo(core(request).settings.locker.timezone)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _home(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/clerk?lang={language(request).code}", status_code=303)


Context = Callable[[Request], dict[str, Any]]


def staff_page(
    request: Request, template: str, roles: frozenset[Role], context: Context | None = None
) -> Response:
    """A clerk page for a signed-in member of ``roles`` (``context`` is read only for them);
    the sign-in page for anyone not signed in, a refusal for other staff."""
    who = _signed_in(request)
    if who is None:
        return _home(request)
    session = request.state.session
    the_signer = signer(request)
    allowed = bool(who.roles & roles)
    response = page(
        request,
        template if allowed else "clerk/forbidden.html",
        status_code=200 if allowed else 403,
        user=who.name.removeprefix("user:"),
        roles=sorted(who.roles),
        csrf=the_signer.csrf_token(session.sid),
        idle_s=idle_seconds(request),
        nav=[(path, key) for path, key, seen_by in NAV if who.roles & seen_by],
        here=request.url.path,
        **(context(request) if allowed and context else {}),
    )
    return response


@router.get("")
def sign_in_page(request: Request) -> Response:
    who = _signed_in(request)
    if who is not None:
        first = next(path for path, _key, seen_by in NAV if who.roles & seen_by)
        return RedirectResponse(f"{first}?lang={language(request).code}", status_code=303)
    return page(request, "clerk/signin.html")


@router.get("/ping")
def ping(request: Request) -> Response:
    """Activity on a page that does not navigate: keep the session alive (reading it marks the
    activity on the server, up to the session's absolute end)."""
    who = _signed_in(request)
    if who is None:
        return Response(status_code=401)
    return Response(status_code=204)


@router.get("/load")
def load_page(request: Request) -> Response:
    return staff_page(request, "clerk/load.html", frozenset({Role.CLERK}), _load_context)


def _load_context(request: Request) -> dict[str, Any]:
    return {"document_types": [d.value for d in DocumentType], "sizes": [s.value for s in Size]}


@router.get("/retrieval")
def retrieval_page(request: Request) -> Response:
    return staff_page(request, "clerk/retrieval.html", frozenset({Role.CLERK}), _waiting)


def _waiting(request: Request) -> dict[str, Any]:
    """Expired and cancelled deliveries still in a compartment, and those being taken back."""
    waiting = (DeliveryState.EXPIRED, DeliveryState.CANCELLED, DeliveryState.RETRIEVING)
    with reading(core(request).engine) as session:
        rows = session.exec(
            select(Delivery)
            .where(col(Delivery.state).in_(waiting), col(Delivery.compartment).is_not(None))
            .order_by(col(Delivery.compartment))
        ).all()
        deliveries = [
            {
                "id": d.id,
                "reference": d.reference,
                "document_type": str(d.document_type),
                "state": str(d.state),
                "compartment": d.compartment,
                "since": local(request, d.expired_at or d.cancelled_at),
            }
            for d in rows
        ]
    return {"deliveries": deliveries}


@router.get("/compartments")
def compartments_page(request: Request) -> Response:
    return staff_page(request, "clerk/compartments.html", frozenset(Role), _grid)


def _grid(request: Request) -> dict[str, Any]:
    with reading(core(request).engine) as session:
        rows = session.exec(select(Compartment).order_by(col(Compartment.label))).all()
        found = {row.label: CompartmentOut.of(row) for row in rows}
        columns = bank_picture(rows)
    return {"columns": columns, "compartments": found}


@router.get("/admin")
def admin_page(request: Request) -> Response:
    return staff_page(
        request, "clerk/admin.html", frozenset({Role.ADMIN}), lambda _: {"all_roles": list(Role)}
    )


@router.get("/audit")
def audit_page(request: Request) -> Response:
    return staff_page(request, "clerk/audit.html", frozenset({Role.ADMIN}), _audit)


def _audit(request: Request) -> dict[str, Any]:
    """The newest events first."""
    with reading(core(request).engine) as session:
        rows = session.exec(
            select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(AUDIT_ROWS)
        ).all()
        events = [
            {
                "at": local(request, e.at),
                "kind": e.kind,
                "actor": e.actor,
                "compartment": e.compartment or "",
                "alert": e.alert,
                "detail": ", ".join(f"{k}: {v}" for k, v in sorted(e.detail.items())),
            }
            for e in rows
        ]
    return {"events": events}
