"""Alarms for clerks and technicians: the list (open first) and acknowledging with a note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import AcknowledgeIn, AlarmOut, ErrorOut
from locker import alarms
from locker.services.accounts import Principal
from locker.vocabulary import AlarmState, Role

router = APIRouter(
    prefix="/api/v1/alarms",
    tags=["alarms"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
Watch = Annotated[Principal, Depends(need(Role.CLERK, Role.TECHNICIAN))]


@router.get("", response_model=list[AlarmOut])
def list_alarms(
    core: CoreDep,
    who: Watch,
    state: Annotated[AlarmState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlarmOut]:
    """Open alarms first, then acknowledged, then cleared; the newest first within each."""
    return [AlarmOut.of(a) for a in alarms.listed(core, state, limit=limit)]


@router.post(
    "/{alarm_id}/acknowledge",
    response_model=AlarmOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def acknowledge(alarm_id: str, body: AcknowledgeIn, core: CoreDep, who: Watch) -> AlarmOut:
    """Seen, and this is being done: the note goes into the alarm and the audit log."""
    return AlarmOut.of(alarms.acknowledge(core, alarm_id, note=body.note, actor=who.name))
