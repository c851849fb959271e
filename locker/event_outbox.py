"""The event outbox: what happened, for everything besides the citizen's messages that leaves
the box (webhooks to the city's registry software, MQTT to a fleet centre).

**Writing.** :func:`record` adds one :class:`~locker.models.OutboundEvent` in the caller's
transaction, so an event exists if and only if the state change it reports committed. The
core writes ``delivery.announced`` when a delivery is announced, ``delivery.<state>`` for
every move of :func:`locker.states.move_delivery` (undo moves too, as the state they land in)
and ``notification.dead`` when a message to the citizen dies; any other type (``alarm.raised``
…) takes the same function. :func:`delivery_facts` is the one place that decides what an event
says about a delivery: ids, reference, document type, state, compartment and times, **never**
a name, phone number, e-mail address or date of birth.

**Order.** The autoincrement ``id`` is the global order. Write transactions are serialised
(SQLite ``BEGIN IMMEDIATE``; on PostgreSQL every :func:`locker.db.transaction` first locks the
audit head row), so ids commit in increasing order: a reader never sees id 7 before a slower
transaction commits id 6. Ids are never reused (``AUTOINCREMENT``), even after pruning.

**Reading.** Each sink has a cursor (:class:`~locker.models.SinkCursor`, the last id it has
passed on). A sink reads a bounded batch after its cursor (:func:`read_after`), delivers it,
then advances (:func:`advance`, never backwards). A crash between the two reads the same
events again: at-least-once, with the same ``event_id`` for the receiver to drop duplicates.
:func:`prune` deletes events every sink has passed once they are older than
``outbox.event_retention_days``.

**Waking.** A sink need not poll for news: :func:`wake_on_events` registers a callback that runs
once after every commit that wrote events (on the committing thread: it must only set a flag).
The registry is per engine, because the state functions that write events get only a session.
"""

from __future__ import annotations

import re
import secrets
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from locker.audit import PERSONAL_KEYS
from locker.core import Core
from locker.db import after_commit, reading, transaction
from locker.errors import NotFound
from locker.listeners import Listeners
from locker.models import Delivery, OutboundEvent, SinkCursor

EVENT_TYPE: Final = re.compile(r"[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*")
"""``<subject>.<what>``: ``delivery.stored``, ``notification.dead``, ``alarm.raised``."""
DELIVERY_TIMES: Final = (
    "created_at",
    "stored_at",
    "expires_at",
    "expired_at",
    "collected_at",
    "returned_at",
    "cancelled_at",
)
SINK_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")


@dataclass(frozen=True, slots=True)
class Event:
    """One outbound event as a sink reads it."""

    id: int
    event_id: str
    type: str
    delivery_id: str | None
    occurred_at: datetime
    data: dict[str, Any]


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def delivery_facts(delivery: Delivery) -> dict[str, Any]:
    """What an event may say about a delivery; nothing that names or reaches the citizen."""
    facts: dict[str, Any] = {
        "delivery_id": delivery.id,
        "reference": delivery.reference,
        "document_type": str(delivery.document_type),
        "state": str(delivery.state),
        "compartment": delivery.compartment,
    }
    for name in DELIVERY_TIMES:
        moment: datetime | None = getattr(delivery, name)
        facts[name] = moment.isoformat() if moment is not None else None
    return facts


def record(
    session: Session,
    type: str,
    *,
    at: datetime,
    data: Mapping[str, Any],
    delivery_id: str | None = None,
) -> OutboundEvent:
    """Add one event in the caller's transaction; ``data`` must be JSON and impersonal."""
    if not EVENT_TYPE.fullmatch(type):
        raise ValueError(f"event type {type!r} is not of the form subject.what")
    leaked = PERSONAL_KEYS.intersection(data)
    if leaked:
        raise ValueError(f"outbound events hold no personal data: {sorted(leaked)}")
    row = OutboundEvent(
        event_id=new_event_id(), type=type, delivery_id=delivery_id, occurred_at=at, data=dict(data)
    )
    session.add(row)
    bind = session.get_bind()
    wakers = _WAKERS.get(bind) if isinstance(bind, Engine) else None
    if wakers is not None:
        after_commit(session, wakers)
    return row


class _Wakers(Listeners[Callable[[], None]]):
    """The callbacks of one engine's sinks, called together after a commit that wrote events."""

    def __call__(self) -> None:
        for callback in self:
            callback()


_WAKERS: weakref.WeakKeyDictionary[Engine, _Wakers] = weakref.WeakKeyDictionary()


def wake_on_events(core: Core, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after every commit that wrote events; returns the unsubscribe."""
    wakers = _WAKERS.setdefault(core.engine, _Wakers())
    return wakers.add(callback)


def record_delivery(
    session: Session, delivery: Delivery, *, at: datetime, type: str | None = None, **extra: Any
) -> OutboundEvent:
    """The delivery as it is now; the type defaults to ``delivery.<its state>``."""
    return record(
        session,
        type or f"delivery.{delivery.state}",
        at=at,
        delivery_id=delivery.id,
        data={**delivery_facts(delivery), **extra},
    )


# -- sinks ------------------------------------------------------------------------------------


def register_sink(core: Core, name: str, *, from_start: bool = False) -> int:
    """Give a sink its cursor (idempotent) and return it.

    A new sink starts after the newest event (it carries what happens from now on), or before
    the oldest one still kept with ``from_start``. An existing cursor is left as it is.
    """
    if not SINK_NAME.fullmatch(name):
        raise ValueError(f"sink name {name!r}: lowercase letters, digits and _.:- only")
    with transaction(core.engine) as session:
        cursor = session.get(SinkCursor, name)
        if cursor is None:
            newest = session.exec(select(func.max(OutboundEvent.id))).one()
            start = 0 if from_start else int(newest or 0)
            cursor = SinkCursor(name=name, last_event_id=start, updated_at=core.clock.now())
            session.add(cursor)
        return cursor.last_event_id


def cursors(core: Core) -> dict[str, int]:
    """Every sink and the last event id it has passed on."""
    with reading(core.engine) as session:
        return {c.name: c.last_event_id for c in session.exec(select(SinkCursor))}


def read_after(core: Core, sink: str, *, limit: int = 100, after: int | None = None) -> list[Event]:
    """Up to ``limit`` events after the sink's cursor, oldest first (read only: deliver, then
    :func:`advance`). A sink with events in flight beyond its cursor (the fleet link, which
    advances on the centre's receipt) reads on ``after`` the last one it sent."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    with reading(core.engine) as session:
        cursor = _cursor(session, sink).last_event_id
        after = cursor if after is None else max(after, cursor)
        rows = session.exec(
            select(OutboundEvent)
            .where(col(OutboundEvent.id) > after)
            .order_by(col(OutboundEvent.id))
            .limit(limit)
        ).all()
        return [_event(row) for row in rows]


def advance(core: Core, sink: str, last_id: int) -> int:
    """Move the sink's cursor to ``last_id`` (the last event it delivered); never backwards.

    Returns the cursor afterwards. An id beyond the newest event is a programming error.
    """
    with transaction(core.engine) as session:
        cursor = _cursor(session, sink)
        if last_id > cursor.last_event_id:
            newest = session.exec(select(func.max(OutboundEvent.id))).one() or 0
            if last_id > newest:
                raise ValueError(f"event {last_id} does not exist (newest: {newest})")
            cursor.last_event_id = last_id
            cursor.updated_at = core.clock.now()
            session.add(cursor)
        return cursor.last_event_id


def prune(core: Core) -> int:
    """Delete events every sink has passed that are older than the retention; return how many.

    With no sink registered every event older than the retention goes.
    """
    keep = timedelta(days=core.settings.outbox.event_retention_days)
    cutoff = core.clock.now() - keep
    with transaction(core.engine) as session:
        passed = session.exec(select(func.min(SinkCursor.last_event_id))).one()
        conditions = [col(OutboundEvent.occurred_at) < cutoff]
        if passed is not None:
            conditions.append(col(OutboundEvent.id) <= passed)
        result = session.exec(delete(OutboundEvent).where(*conditions))
        return int(result.rowcount or 0)


def events_of(core: Core, delivery_id: str) -> list[Event]:
    """Every event still kept for one delivery, in order (for screens and tests)."""
    with reading(core.engine) as session:
        rows = session.exec(
            select(OutboundEvent)
            .where(col(OutboundEvent.delivery_id) == delivery_id)
            .order_by(col(OutboundEvent.id))
        ).all()
        return [_event(row) for row in rows]


def _cursor(session: Session, sink: str) -> SinkCursor:
    cursor = session.get(SinkCursor, sink)
    if cursor is None:
        raise NotFound(f"no sink {sink!r} is registered")
    return cursor


def _event(row: OutboundEvent) -> Event:
    assert row.id is not None and row.occurred_at is not None
    return Event(row.id, row.event_id, row.type, row.delivery_id, row.occurred_at, dict(row.data))
