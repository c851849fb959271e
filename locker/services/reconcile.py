"""Start-up (and board-back-online) reconciliation: make the database agree with the doors.

After a power cut the database may hold an intent whose outcome was never written. For each
compartment with an intent the hardware's answer decides:

=====================  ==========================  =======================================
door now               what we know                resolution
=====================  ==========================  =======================================
open                   —                           wait: the closing event will complete it
closed                 door was seen opening       complete (store / collected / returned)
closed, item sensor    document inside             loading: complete; other: undo
closed, item sensor    empty                       loading: undo; other: complete
closed, no sensor      nothing                     ``fault`` + alert: a person must look
unreadable (offline)   nothing                     ``fault`` + alert
=====================  ==========================  =======================================

A compartment without intent whose door stands open is recorded; an occupied one goes to
``fault`` with an alert, since its document is exposed.

Every compartment it completes, undoes or faults is published as a :class:`DomainEvent` once
the transaction committed, as every other state change is, so the live screens show it: a
completion as the delivery's new state, an undo as ``delivery_<state it returned to>`` (or
``compartment_changed`` for an empty compartment) and a fault as an ``alarm`` with ``why``
``reconciled_fault``. The delivery moves of an undo are written to the event outbox in the
same transaction by :func:`locker.states.move_delivery`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from locker import alarms, audit
from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.models import Compartment, Delivery
from locker.ports import CompartmentReading
from locker.services.intents import INTENT_STATES, complete_intent, undo_intent
from locker.services.lookup import delivery_in
from locker.states import note_door, to_fault
from locker.vocabulary import AlarmKind, DoorState
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D

ACTOR = "reconcile"


@dataclass
class ReconcileReport:
    completed: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    faulted: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def reconcile(core: Core, labels: Iterable[str] | None = None) -> ReconcileReport:
    """Settle interrupted intents against the doors as read now.

    An intent recorded *after* the doors were read (a pickup started while a board that just
    came back was being read) is left alone: the reading says nothing about it.
    """
    read_at = core.clock.now()
    readings = core.bank.read_all()
    wanted = set(labels) if labels is not None else None
    report = ReconcileReport()
    events: list[DomainEvent] = []
    now = core.clock.now()
    with transaction(core.engine) as session:
        compartments = session.exec(select(Compartment).order_by(col(Compartment.label)))
        for compartment in compartments:
            if wanted is not None and compartment.label not in wanted:
                continue
            if compartment.updated_at is not None and compartment.updated_at > read_at:
                report.waiting.append(compartment.label)
                continue
            reading = readings.get(compartment.label)
            events += _one(core, session, compartment, reading, report, now)
        if wanted is None and readings:
            _boards_back(session, now)
        alarms.check_capacity(core, session, at=now)
        audit.record(
            session,
            at=now,
            kind="reconciled",
            actor=ACTOR,
            completed=len(report.completed),
            undone=len(report.undone),
            faulted=len(report.faulted),
            alert=bool(report.faulted),
        )
    core.publish(*events)
    return report


def _one(
    core: Core,
    session: Session,
    compartment: Compartment,
    reading: CompartmentReading | None,
    report: ReconcileReport,
    now: datetime,
) -> list[DomainEvent]:
    label = compartment.label
    online = reading is not None and reading.online and reading.door != DoorState.UNKNOWN
    door_open = online and reading is not None and reading.door == DoorState.OPEN
    if reading is not None and compartment.offline != (not reading.online):
        compartment.offline = not reading.online
        session.add(compartment)
    if online:
        note_door(compartment, door_open, now)
        session.add(compartment)
        if not door_open:
            alarms.clear(session, (AlarmKind.DOOR_LEFT_OPEN,), at=now, compartment=label)
    if compartment.state not in INTENT_STATES:
        if door_open and compartment.state == C.OCCUPIED:
            return _fault(core, session, compartment, report, now, "door found open")
        return []
    if not online:
        why = "could not read the door after an interrupted opening"
        return _fault(core, session, compartment, report, now, why)
    if door_open:
        compartment.opened_since_intent = True
        report.waiting.append(label)
        return []
    loading = _delivery_state(session, compartment) == D.LOADING
    assert reading is not None
    if compartment.opened_since_intent or (reading.item is not None and reading.item == loading):
        report.completed.append(label)
        return complete_intent(core, session, compartment, at=now, actor=ACTOR)
    if reading.item is not None:
        delivery = delivery_in(session, compartment)
        undo_intent(session, compartment, at=now, actor=ACTOR, why="door never opened")
        report.undone.append(label)
        if delivery is None:
            return [DomainEvent("compartment_changed", None, label, {"why": "reconciled_undo"})]
        return [
            DomainEvent(
                f"delivery_{delivery.state}", delivery.id, label, {"why": "reconciled_undo"}
            )
        ]
    return _fault(core, session, compartment, report, now, "interrupted opening; look inside")


def _fault(
    core: Core,
    session: Session,
    compartment: Compartment,
    report: ReconcileReport,
    now: datetime,
    why: str,
) -> list[DomainEvent]:
    """Take the compartment out of use with an alarm, and say so to the live screens."""
    to_fault(core, session, compartment, at=now, actor=ACTOR, why=why)
    report.faulted.append(compartment.label)
    data = {"why": "reconciled_fault", "detail": why}
    return [DomainEvent("alarm", compartment.delivery_id, compartment.label, data)]


def _boards_back(session: Session, now: datetime) -> None:
    """After a full reading with every compartment answering, no board is offline any more."""
    unreachable = session.exec(select(Compartment).where(col(Compartment.offline) == True)).first()
    if unreachable is None:
        alarms.clear(session, (AlarmKind.BOARD_OFFLINE,), at=now, any_place=True)


def _delivery_state(session: Session, compartment: Compartment) -> D | None:
    if compartment.delivery_id is None:
        return None
    delivery = session.get(Delivery, compartment.delivery_id)
    return D(delivery.state) if delivery else None
