"""Every write of what the boxes send, one transaction per batch.

**Events** are inserted with ``ON CONFLICT (message_id) DO NOTHING``: a resent event (QoS 1
is at least once; a box resends what no receipt covers) is dropped by its id. Each box's
events form a chain (``prev_seq``): an event whose predecessor is missing is not stored yet —
the box resends from its last receipt — so the centre never holds a box's events with a gap,
and ``last_seq`` is what the receipt confirms.

**Status, state, heartbeats** update the box row; retained messages replayed to a restarted
centre count as facts, not as signs of life. **Answers** complete their command. An
``alarm.raised`` event writes an alert row in the same transaction (the alert outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from fleet.centre import tables
from fleet.centre.alerts import queue_alert
from fleet.contract import Answer, BoxEvent, BoxState, BoxStatus, Heartbeat, Topic

log = logging.getLogger(__name__)
ALARM_RAISED = "alarm.raised"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One parsed message as the subscriber received it."""

    box_id: str
    kind: Topic
    payload: BaseModel
    received_at: datetime
    retained: bool = False


@dataclass
class Outcome:
    """What one batch changed: receipts to send, boxes to redraw, answers for waiting calls."""

    receipts: dict[str, int] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    answers: list[Answer] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    held_back: int = 0
    alerts: int = 0


def ingest(engine: Engine, batch: Sequence[Incoming], now: datetime) -> Outcome:
    """Store one batch (in arrival order) in one transaction."""
    outcome = Outcome()
    if not batch:
        return outcome
    ids = sorted({m.box_id for m in batch})
    with engine.begin() as connection:
        connection.execute(
            insert(tables.box)
            .values(
                [
                    {
                        "box_id": box_id,
                        "online": False,
                        "status_reason": "unknown",
                        "first_seen": now,
                        "last_seen": now,
                        "offline_alerted": False,
                        "events_stored": 0,
                    }
                    for box_id in ids
                ]
            )
            .on_conflict_do_nothing()
        )
        rows = connection.execute(
            select(tables.box)
            .where(tables.box.c.box_id.in_(ids))
            .order_by(tables.box.c.box_id)
            .with_for_update()
        ).mappings()
        boxes = {row["box_id"]: dict(row) for row in rows}
        before = {box_id: dict(row) for box_id, row in boxes.items()}
        events: dict[str, list[BoxEvent]] = {}
        for message in batch:
            row = boxes[message.box_id]
            payload = message.payload
            if isinstance(payload, BoxStatus):
                _status(row, payload, now)
            elif isinstance(payload, BoxState):
                _alive(row, message, now)
                if row["state_sent_at"] is None or payload.sent_at >= row["state_sent_at"]:
                    row["state"] = payload.model_dump(mode="json")
                    row["state_sent_at"] = payload.sent_at
                    row["version"] = payload.version[:40]
            elif isinstance(payload, Heartbeat):
                _alive(row, message, now)
            elif isinstance(payload, BoxEvent):
                _alive(row, message, now)
                events.setdefault(message.box_id, []).append(payload)
            elif isinstance(payload, Answer):
                _alive(row, message, now)
                if _answer(connection, payload, now):
                    outcome.answers.append(payload)
        for box_id, sent in events.items():
            _events(connection, boxes[box_id], sent, batch, now, outcome)
            outcome.receipts[box_id] = int(boxes[box_id]["last_seq"] or 0)
        for box_id, row in boxes.items():
            changes = {k: v for k, v in row.items() if before[box_id].get(k) != v}
            if changes:
                connection.execute(
                    update(tables.box).where(tables.box.c.box_id == box_id).values(**changes)
                )
                if set(changes) - {"last_seen"}:
                    outcome.changed.add(box_id)
    return outcome


def _status(row: dict[str, Any], status: BoxStatus, now: datetime) -> None:
    if status.online:
        row["last_seen"] = now
        row["online"] = True
        row["offline_since"] = None
        row["offline_alerted"] = False
    elif row["online"] or row["offline_since"] is None:
        row["online"] = False
        row["offline_since"] = status.sent_at if status.reason == "disconnected" else now
    row["status_reason"] = status.reason


def _alive(row: dict[str, Any], message: Incoming, now: datetime) -> None:
    """A message sent just now (not a retained one replayed) proves the box is there."""
    if message.retained:
        return
    row["last_seen"] = now
    if not row["online"]:
        row["online"] = True
        row["status_reason"] = "connected"
        row["offline_since"] = None
        row["offline_alerted"] = False


def _events(
    connection: Connection,
    row: dict[str, Any],
    sent: list[BoxEvent],
    batch: Sequence[Incoming],
    now: datetime,
    outcome: Outcome,
) -> None:
    received = {
        m.payload.message_id: m.received_at for m in batch if isinstance(m.payload, BoxEvent)
    }
    last = row["last_seq"]
    accepted: list[BoxEvent] = []
    seen: set[str] = set()
    for event in sent:
        if event.message_id in seen:  # the same event twice in one batch
            outcome.duplicates += 1
            continue
        seen.add(event.message_id)
        if last is None or event.prev_seq <= last or event.seq <= last:
            accepted.append(event)
            last = event.seq if last is None else max(last, event.seq)
        else:
            outcome.held_back += 1
    if not accepted:
        return
    inserted = connection.execute(
        insert(tables.box_event)
        .values(
            [
                {
                    "box_id": row["box_id"],
                    "message_id": e.message_id,
                    "seq": e.seq,
                    "type": e.type,
                    "delivery_id": e.delivery_id,
                    "occurred_at": e.occurred_at,
                    "sent_at": e.sent_at,
                    "received_at": received.get(e.message_id, now),
                    "stored_at": now,
                    "data": e.data,
                }
                for e in accepted
            ]
        )
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(tables.box_event.c.message_id)
    )
    new = {found for (found,) in inserted}
    outcome.stored += len(new)
    outcome.duplicates += len(accepted) - len(new)
    row["last_seq"] = last
    row["events_stored"] = int(row["events_stored"] or 0) + len(new)
    if new:
        outcome.changed.add(row["box_id"])
    for event in accepted:
        if event.message_id in new and event.type == ALARM_RAISED:
            outcome.alerts += _alarm_alert(connection, row["box_id"], event, now)


def _alarm_alert(connection: Connection, box_id: str, event: BoxEvent, now: datetime) -> int:
    kind = str(event.data.get("kind", "alarm"))
    where = event.data.get("compartment") or event.data.get("board") or "–"
    queue_alert(
        connection,
        box_id,
        "alarm",
        f"Alarm an Schließfachanlage {box_id}: {kind}",
        f"Die Schließfachanlage {box_id} meldet einen Alarm.\n\n"
        f"Art: {kind}\nOrt: {where}\nZeit: {event.occurred_at.isoformat()}\n",
        now,
    )
    return 1


def _answer(connection: Connection, answer: Answer, now: datetime) -> bool:
    done = connection.execute(
        update(tables.command)
        .where(
            tables.command.c.transaction_id == answer.transaction_id,
            tables.command.c.box_id == answer.box_id,
            tables.command.c.state != "answered",
        )
        .values(
            state="answered",
            answered_at=now,
            status=answer.status,
            answer=answer.model_dump(mode="json", include={"ok", "status", "result", "error"}),
        )
    )
    return bool(done.rowcount)
