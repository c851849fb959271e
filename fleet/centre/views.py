"""What the API and the control room show, read from the centre's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fleet.centre import tables
from fleet.contract import BoxState
from locker.vocabulary import Size

EVENT_LABELS = {
    "delivery.announced": "angekündigt",
    "delivery.loading": "wird eingelegt",
    "delivery.stored": "eingelegt",
    "delivery.collecting": "wird abgeholt",
    "delivery.collected": "abgeholt",
    "delivery.expired": "Abholfrist abgelaufen",
    "delivery.retrieving": "wird entnommen",
    "delivery.returned": "zurückgenommen",
    "delivery.cancelled": "zurückgezogen",
    "alarm.raised": "Alarm",
    "alarm.cleared": "Alarm erledigt",
    "notification.dead": "Nachricht unzustellbar",
}
"""German names of the event types for the box page (an unknown type is shown as it is)."""


class BoxSummary(BaseModel):
    box_id: str
    online: bool
    status: str = Field(description="connected, disconnected, lost (last will), silent, unknown")
    last_seen: datetime
    offline_since: datetime | None
    version: str | None
    health: str | None
    compartments: int
    occupied: int
    free: dict[str, int] = Field(description="free compartments by size")
    fault: int
    open_alarms: int
    dead_messages: int
    backlog_events: int
    events_stored: int


class EventOut(BaseModel):
    seq: int
    message_id: str
    type: str
    delivery_id: str | None
    occurred_at: datetime
    stored_at: datetime
    data: dict[str, Any]


class CommandOut(BaseModel):
    transaction_id: str
    command: str
    subject: str
    reason: str | None
    actor: str
    issued_at: datetime
    state: str
    status: int | None


class BoxDetail(BoxSummary):
    by_size: dict[str, dict[str, int]]
    boards_offline: list[str]
    recent_events: list[EventOut]
    recent_commands: list[CommandOut]


def _summary(row: Any) -> dict[str, Any]:
    state = BoxState.model_validate(row["state"]) if row["state"] else None
    totals = state.totals() if state else {"compartments": 0, "occupied": 0, "free": 0}
    counts = state.compartments if state else {}
    return {
        "box_id": row["box_id"],
        "online": row["online"],
        "status": row["status_reason"],
        "last_seen": row["last_seen"],
        "offline_since": row["offline_since"],
        "version": row["version"],
        "health": state.health if state else None,
        "compartments": totals["compartments"],
        "occupied": totals["occupied"],
        "free": {str(size): counts[size].free for size in Size if size in counts},
        "fault": sum(c.fault for c in counts.values()),
        "open_alarms": state.open_alarms if state else 0,
        "dead_messages": state.dead_messages if state else 0,
        "backlog_events": state.backlog.events if state else 0,
        "events_stored": row["events_stored"],
    }


def boxes(engine: Engine) -> list[BoxSummary]:
    with engine.connect() as connection:
        rows = connection.execute(select(tables.box).order_by(tables.box.c.box_id)).mappings()
        return [BoxSummary(**_summary(row)) for row in rows]


def box(engine: Engine, box_id: str, *, events: int = 50) -> BoxDetail | None:
    with engine.connect() as connection:
        row = (
            connection.execute(select(tables.box).where(tables.box.c.box_id == box_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        recent = connection.execute(
            select(tables.box_event)
            .where(tables.box_event.c.box_id == box_id)
            .order_by(tables.box_event.c.seq.desc())
            .limit(events)
        ).mappings()
        commands = connection.execute(
            select(tables.command)
            .where(tables.command.c.box_id == box_id)
            .order_by(tables.command.c.issued_at.desc())
            .limit(20)
        ).mappings()
        state = BoxState.model_validate(row["state"]) if row["state"] else None
        return BoxDetail(
            **_summary(row),
            by_size={
                str(s): c.model_dump() for s, c in (state.compartments if state else {}).items()
            },
            boards_offline=state.boards.offline if state else [],
            recent_events=[EventOut(**{k: e[k] for k in EventOut.model_fields}) for e in recent],
            recent_commands=[
                CommandOut(**{k: c[k] for k in CommandOut.model_fields}) for c in commands
            ],
        )
