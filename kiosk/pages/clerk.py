"""The clerk screens under ``/clerk``: sign-in, loading, taking back, compartments and
technician actions, accounts and API keys, the audit log.

Pages are rendered with what they show; every change goes through the JSON API from
``static/clerk.js`` with the session's CSRF token (``<meta name="csrf-token">``). Every page
view is activity of the server-side session, and the page signs out by itself after
inactivity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
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
from locker import alarms
from locker.alarms import AlarmView
from locker.db import reading
from locker.i18n import Catalog, catalog, languages
from locker.models import AuditEvent, Compartment, Delivery, Notification
from locker.services import corrections, staff
from locker.services.accounts import Principal
from locker.vocabulary import AlarmState, DeliveryState, DocumentType, Role, Size

router = APIRouter(prefix="/clerk", include_in_schema=False)
AUDIT_ROWS = 200

# (path, message key, roles that see it)
NAV: Sequence[tuple[str, str, frozenset[Role]]] = (
    ("/clerk/load", "nav_load", frozenset({Role.CLERK})),
    ("/clerk/retrieval", "nav_retrieval", frozenset({Role.CLERK})),
    ("/clerk/deliveries", "nav_deliveries", frozenset({Role.CLERK})),
    ("/clerk/compartments", "nav_compartments", frozenset(Role)),
    ("/clerk/alarms", "nav_alarms", frozenset({Role.CLERK, Role.TECHNICIAN})),
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
        alarm_bar=alarm_bar(request),
        may_see_alarms=bool(who.roles & {Role.CLERK, Role.TECHNICIAN}),
        **(context(request) if allowed and context else {}),
    )
    return response


BAR_ITEMS = 3


def alarm_bar(request: Request) -> list[dict[str, Any]]:
    """Every alarm whose cause is not over, for the bar on top of every clerk screen."""
    return [shown_alarm(request, a, {}) for a in alarms.not_cleared(core(request))]


def shown_alarm(request: Request, alarm: AlarmView, references: dict[str, str]) -> dict[str, Any]:
    """An alarm in the screen's words: its kind's text and where it is."""
    t = language(request)
    if alarm.compartment:
        place = alarm.compartment
    elif alarm.board:
        place = t("place_board", board=alarm.board)
    elif alarm.delivery_id:
        place = t("place_delivery", reference=references.get(alarm.delivery_id, alarm.delivery_id))
    else:
        place = t("place_locker")
    return {
        "id": alarm.id,
        "kind": str(alarm.kind),
        "text": t(f"alarm_kind_{alarm.kind}"),
        "place": place,
        "state": str(alarm.state),
        "raised": local(request, alarm.raised_at),
        "by": alarm.acknowledged_by.removeprefix("user:") if alarm.acknowledged_by else "",
        "acknowledged": local(request, alarm.acknowledged_at),
        "note": alarm.note or "",
        "delivery_id": alarm.delivery_id,
    }


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
    """The bank as it is; a compartment's trouble in the screen's words (its alarm's kind, or
    the reason a technician typed when taking it out of service)."""
    t = language(request)
    with reading(core(request).engine) as session:
        rows = session.exec(select(Compartment).order_by(col(Compartment.label))).all()
        found = {row.label: CompartmentOut.of(row) for row in rows}
        columns = bank_picture(rows)
        trouble = {
            a.compartment: t(f"alarm_kind_{a.kind}")
            for a in reversed(alarms.current(session))
            if a.compartment
        }
    for label, c in found.items():
        if c.state == "fault":
            trouble.setdefault(label, t("alarm_kind_fault"))
        elif c.state == "out_of_service" and c.fault_reason:
            trouble.setdefault(label, c.fault_reason)
    return {"columns": columns, "compartments": found, "trouble": trouble}


@router.get("/alarms")
def alarms_page(request: Request) -> Response:
    return staff_page(
        request, "clerk/alarms.html", frozenset({Role.CLERK, Role.TECHNICIAN}), _alarm_list
    )


def _alarm_list(request: Request) -> dict[str, Any]:
    wanted = request.query_params.get("state")
    state = AlarmState(wanted) if wanted in set(AlarmState) else None
    found = alarms.listed(core(request), state)
    ids = {a.delivery_id for a in found if a.delivery_id}
    with reading(core(request).engine) as session:
        references = {
            d.id: d.reference
            for d in session.exec(select(Delivery).where(col(Delivery.id).in_(ids)))
        }
    return {
        "alarms": [shown_alarm(request, a, references) for a in found],
        "states": [s.value for s in AlarmState],
        "state": state.value if state else "",
    }


@router.get("/admin")
def admin_page(request: Request) -> Response:
    return staff_page(request, "clerk/admin.html", frozenset({Role.ADMIN}), _accounts)


def _accounts(request: Request) -> dict[str, Any]:
    """Accounts and keys as they are now, times in the locker's local time."""
    the_core = core(request)
    people = [
        {**asdict(v), "last": local(request, v.last_signed_in_at)}
        for v in staff.list_staff(the_core)
    ]
    keys = [
        {
            **asdict(k),
            "created": local(request, k.created_at),
            "last": local(request, k.last_used_at),
            "revoked": local(request, k.revoked_at),
        }
        for k in staff.list_keys(the_core)
    ]
    return {"all_roles": list(Role), "people": people, "keys": keys}


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


@router.get("/deliveries")
def deliveries_page(request: Request) -> Response:
    return staff_page(request, "clerk/deliveries.html", frozenset({Role.CLERK}), _found)


def _found(request: Request) -> dict[str, Any]:
    """Search by part of the reference or the name, and by state; the newest first."""
    text = request.query_params.get("q", "")[:100]
    wanted = request.query_params.get("state", "")
    state = DeliveryState(wanted) if wanted in set(DeliveryState) else None
    rows = corrections.search(core(request), text, state)
    return {
        "q": text,
        "state": state.value if state else "",
        "states": [s.value for s in DeliveryState],
        "searched": bool(text.strip() or state),
        "limit": corrections.SEARCH_LIMIT,
        "deliveries": [
            {
                "id": d.id,
                "reference": d.reference,
                "name": d.recipient_name or "",
                "document_type": str(d.document_type),
                "state": str(d.state),
                "compartment": d.compartment or "",
                "expires": local(request, d.expires_at) if d.state == DeliveryState.STORED else "",
            }
            for d in rows
        ],
    }


@router.get("/deliveries/{delivery_id}")
def delivery_page(request: Request, delivery_id: str) -> Response:
    return staff_page(
        request,
        "clerk/delivery.html",
        frozenset({Role.CLERK}),
        lambda r: _delivery(r, delivery_id),
    )


def _delivery(request: Request, delivery_id: str) -> dict[str, Any]:
    t = language(request)
    the_core = core(request)
    with reading(the_core.engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return {"missing": True}
        messages = session.exec(
            select(Notification)
            .where(col(Notification.delivery_id) == delivery_id)
            .order_by(col(Notification.id))
        ).all()
    steps = [
        {
            "at": local(request, step.at),
            "what": _step_text(t, step.kind),
            "actor": step.actor.removeprefix("user:"),
            "compartment": step.compartment or "",
        }
        for step in corrections.timeline(the_core, delivery_id)
    ]
    return {
        "d": delivery,
        "state": str(delivery.state),
        "document_type": str(delivery.document_type),
        "times": {
            key: local(request, getattr(delivery, key))
            for key in ("created_at", "stored_at", "expires_at", "collected_at", "returned_at")
        },
        "steps": steps,
        "messages": [
            {
                "channel": str(m.channel),
                "kind": str(m.kind),
                "state": str(m.state),
                "attempts": m.attempts,
                "at": local(request, m.sent_at or m.created_at),
            }
            for m in messages
        ],
        "stored": delivery.state == DeliveryState.STORED,
        "contact_open": delivery.state in corrections.CONTACT_STATES and delivery.erased_at is None,
        "cancellable": delivery.state in (DeliveryState.ANNOUNCED, DeliveryState.STORED),
        "languages_all": [catalog(code) for code in languages()],
        "max_extension": the_core.settings.policy.max_extension_days,
    }


def _step_text(t: Catalog, kind: str) -> str:
    key = f"step_{kind}"
    return t(key) if key in t.texts else t("step_other", kind=kind.replace("_", " "))
