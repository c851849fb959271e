"""Audit log, health, and the Twilio status webhook."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import col, select

import notify
from kiosk.api.deps import CoreDep, controller, need
from kiosk.errors import body
from kiosk.schemas import MAX_ID, ErrorOut, EventOut
from locker import outbox
from locker.db import integrity_problem, reading
from locker.models import AuditEvent, Compartment, Delivery, PickupCode
from locker.services.accounts import Principal
from locker.vocabulary import Role

router = APIRouter(tags=["operations"])
Auditor = Annotated[Principal, Depends(need(Role.ADMIN))]


@router.get(
    "/api/v1/events",
    response_model=list[EventOut],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
def events(
    core: CoreDep,
    who: Auditor,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="last id already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[EventOut]:
    """The audit log, oldest first; page on with ``after`` = the last id you have."""
    with reading(core.engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.id) > after)
            .order_by(col(AuditEvent.id))
            .limit(limit)
        ).all()
        return [
            EventOut(
                id=r.id or 0,
                at=r.at,
                kind=r.kind,
                actor=r.actor,
                delivery_id=r.delivery_id,
                compartment=r.compartment,
                alert=r.alert,
                detail=r.detail,
                hash=r.hash,
            )
            for r in rows
        ]


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """``ok`` when the database is sound and every board is online; ``degraded`` otherwise.

    The database is checked for real (``PRAGMA quick_check`` and the tables a pickup reads,
    at most every :data:`DB_CHECK_EVERY_S`, so a flood of health requests costs nothing);
    when it fails the answer is 503, since pickups would fail too."""
    core = controller(request).running
    report: dict[str, Any] = {"status": "ok"}
    status_code = 200
    problem = database_problem(request)
    if problem is None:
        report["database"] = "ok"
        try:
            report["outbox_backlog"] = outbox.backlog(core)
        except Exception as err:  # the point of a health check is to say, not to fail
            problem = f"{type(err).__name__}: {err}"
    if problem is not None:
        report["database"] = f"error: {problem}"
        report["status"] = "degraded"
        status_code = 503
    readings = core.bank.read_all()
    offline = sorted(label for label, r in readings.items() if not r.online)
    report["compartments"] = len(readings)
    report["compartments_offline"] = offline
    if offline:
        report["status"] = "degraded"
    return JSONResponse(report, status_code=status_code)


DB_CHECK_EVERY_S = 10.0


def database_problem(request: Request) -> str | None:
    """The last database check's finding, repeated at most every :data:`DB_CHECK_EVERY_S`."""
    state = request.app.state
    last: tuple[float, str | None] | None = getattr(state, "db_check", None)
    now = time.monotonic()
    if last is not None and now - last[0] < DB_CHECK_EVERY_S:
        return last[1]
    core = controller(request).running
    problem = integrity_problem(core.engine)
    if problem is None:
        try:
            with reading(core.engine) as session:
                for table in (Compartment, Delivery, PickupCode):
                    session.exec(select(table).limit(1)).all()
        except Exception as err:
            problem = f"{type(err).__name__}: {err}"
    state.db_check = (now, problem)
    return problem


@router.post(notify.STATUS_PATH, include_in_schema=True, responses={403: {"model": ErrorOut}})
async def twilio_status(request: Request) -> JSONResponse:
    """Twilio's delivery-status callback; the signature is verified against the public URL."""
    core = controller(request).running
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    try:
        notify.apply_twilio_status(core, str(request.url), params, dict(request.headers))
    except notify.BadSignature as err:
        return JSONResponse(body("bad_signature", str(err)), status_code=403)
    return JSONResponse({"ok": True})
