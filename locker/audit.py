"""The audit log: an append-only hash chain of what happened, without personal data.

Each event stores the hash of the one before it; the hash covers the event's id, time, kind,
actor, delivery id, compartment, detail and alert flag, so changing, deleting or reordering
any row breaks the chain at that row, and :func:`verify_chain` names the first broken link.
Appending locks the chain's head row, so two writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from locker.models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64
PERSONAL_KEYS = frozenset(
    {"name", "phone", "email", "recipient", "date_of_birth", "code", "password", "key"}
)


def _digest(
    prev_hash: str,
    event_id: int,
    at: datetime,
    kind: str,
    actor: str,
    delivery_id: str | None,
    compartment: str | None,
    detail: dict[str, Any],
    alert: bool,
) -> str:
    body = json.dumps(
        [prev_hash, event_id, at.isoformat(), kind, actor, delivery_id, compartment, detail, alert],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    *,
    at: datetime,
    kind: str,
    actor: str,
    delivery_id: str | None = None,
    compartment: str | None = None,
    alert: bool = False,
    **detail: str | int | float | bool | None,
) -> AuditEvent:
    """Append one event in the caller's transaction."""
    leaked = PERSONAL_KEYS.intersection(detail)
    if leaked:
        raise ValueError(f"audit events hold no personal data: {sorted(leaked)}")
    head = session.exec(select(AuditHead).where(col(AuditHead.id) == 1).with_for_update()).one()
    event_id = head.last_id + 1
    digest = _digest(
        head.last_hash, event_id, at, kind, actor, delivery_id, compartment, dict(detail), alert
    )
    event = AuditEvent(
        id=event_id,
        at=at,
        kind=kind,
        actor=actor,
        delivery_id=delivery_id,
        compartment=compartment,
        detail=dict(detail),
        alert=alert,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(event)
    head.last_id = event_id
    head.last_hash = digest
    session.add(head)
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from the start; report the first event whose link does not hold."""
    expected_prev, expected_id, checked = GENESIS_HASH, 1, 0
    rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))
    for event in rows:
        assert event.id is not None and event.at is not None
        if event.id != expected_id:
            return ChainReport(checked, expected_id, f"event {expected_id} is missing")
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.id, "does not link to the event before it")
        digest = _digest(
            event.prev_hash,
            event.id,
            event.at,
            event.kind,
            event.actor,
            event.delivery_id,
            event.compartment,
            event.detail,
            event.alert,
        )
        if digest != event.hash:
            return ChainReport(checked, event.id, "its content was changed after it was written")
        expected_prev, expected_id, checked = event.hash, event.id + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != checked or head.last_hash != expected_prev):
        return ChainReport(checked, checked + 1, "events after it were removed")
    return ChainReport(checked, None)
