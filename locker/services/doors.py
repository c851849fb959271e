"""Hardware events turned into state changes.

Called by the composition root for every :class:`HardwareEvent`, from a thread of its own
(never the bank's). An intent (reserved / opening) is completed only by a door-closed event
that follows a door-opened event handled *during* that intent: the bank reports an opening
as ``door_opened`` only after our unlock, and anything else as ``forced_open``, so events
that were under way before the intent (a forced door closing again) can never complete it.
A door that did not open after an unlock (lock fault) undoes the intent; a forced door is an
alarm.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from locker import alarms, audit
from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.models import Compartment
from locker.ports import EventKind, HardwareEvent
from locker.services.intents import INTENT_STATES, complete_intent, mark_code_used, undo_intent
from locker.services.lookup import delivery_in
from locker.states import note_door, to_fault
from locker.vocabulary import AlarmKind
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D

ACTOR = "hardware"


def handle_event(core: Core, event: HardwareEvent) -> list[DomainEvent]:
    now = core.clock.now()
    events: list[DomainEvent] = []
    with transaction(core.engine) as session:
        if event.label is None:
            audit.record(
                session,
                at=now,
                kind=str(event.kind),
                actor=ACTOR,
                board=event.board,
                compartments=len(event.labels),
                alert=event.kind == EventKind.BOARD_OFFLINE,
            )
            _board_changed(core, session, event, now)
            events.append(DomainEvent(str(event.kind), None, None, {"board": event.board}))
        else:
            compartment = session.get(Compartment, event.label)
            if compartment is None:
                audit.record(
                    session,
                    at=now,
                    kind="unknown_compartment",
                    actor=ACTOR,
                    alert=True,
                    hw_label=event.label[:16],
                    event=str(event.kind),
                )
                return []
            events = _on_compartment(core, session, compartment, event, now)
    core.publish(*events)
    if event.kind == EventKind.BOARD_ONLINE and event.labels:
        from locker.services.reconcile import reconcile  # noqa: PLC0415 - mutual helpers

        reconcile(core, labels=event.labels)
    return events


def _board_changed(core: Core, session: Session, event: HardwareEvent, now: datetime) -> None:
    """Mark the board's compartments (un)reachable, so allocation skips them; raise or clear
    the board's alarm."""
    offline = event.kind == EventKind.BOARD_OFFLINE
    if event.kind not in (EventKind.BOARD_OFFLINE, EventKind.BOARD_ONLINE):
        return
    for label in event.labels:
        compartment = session.get(Compartment, label)
        if compartment is not None and compartment.offline != offline:
            compartment.offline = offline
            session.add(compartment)
    board = event.board or "?"
    if offline:
        alarms.raise_alarm(
            core, session, AlarmKind.BOARD_OFFLINE, at=now, board=board, reason=event.detail
        )
    else:
        alarms.clear(session, (AlarmKind.BOARD_OFFLINE,), at=now, core=core, board=board)
    alarms.check_capacity(core, session, at=now)


def _reported(
    session: Session, compartment: Compartment, kind: str, now: datetime, *, alert: bool = False
) -> None:
    """The audit event for what the hardware reported of ``compartment`` and its delivery."""
    audit.record(
        session,
        at=now,
        kind=kind,
        actor=ACTOR,
        compartment=compartment.label,
        delivery_id=compartment.delivery_id,
        alert=alert,
    )


def _on_compartment(
    core: Core, session: Session, compartment: Compartment, event: HardwareEvent, now: datetime
) -> list[DomainEvent]:
    label = compartment.label
    kind = event.kind
    state = C(compartment.state)
    if kind == EventKind.DOOR_OPENED:
        note_door(compartment, True, now)
        if state in INTENT_STATES:
            compartment.opened_since_intent = True
            delivery = delivery_in(session, compartment)
            if delivery is not None and delivery.state == D.COLLECTING:
                mark_code_used(session, delivery, now)
            _reported(session, compartment, "door_opened", now)
            session.add(compartment)
            return [DomainEvent("door_opened", compartment.delivery_id, label)]
        kind = EventKind.FORCED_OPEN  # opened with no intent of ours: treat as forced
    if kind == EventKind.FORCED_OPEN:
        note_door(compartment, True, now)
        _reported(session, compartment, "forced_open", now, alert=True)
        if state in (C.FREE, C.OCCUPIED):
            to_fault(
                core,
                session,
                compartment,
                at=now,
                actor=ACTOR,
                why="door forced open",
                alarm=AlarmKind.FORCED_DOOR,
            )
        else:
            alarms.raise_alarm(
                core, session, AlarmKind.FORCED_DOOR, at=now, compartment=label, reason="forced"
            )
        session.add(compartment)
        return [DomainEvent("alarm", compartment.delivery_id, label, {"why": "forced_open"})]
    if kind == EventKind.DOOR_CLOSED:
        note_door(compartment, False, now)
        closed = [AlarmKind.DOOR_LEFT_OPEN]
        if state != C.FAULT:
            closed.append(AlarmKind.FORCED_DOOR)
        alarms.clear(session, closed, at=now, core=core, compartment=label)
        _reported(session, compartment, "door_closed", now)
        session.add(compartment)
        if state in INTENT_STATES and compartment.opened_since_intent:
            return complete_intent(core, session, compartment, at=now, actor=ACTOR)
        if state in INTENT_STATES:
            # Observed before our unlock took effect (e.g. a forced door closing): not ours.
            _reported(session, compartment, "stale_door_closed", now)
        return [DomainEvent("door_closed", compartment.delivery_id, label)]
    if kind == EventKind.LOCK_FAULT:
        _reported(session, compartment, "lock_fault", now, alert=True)
        if state in INTENT_STATES and not compartment.opened_since_intent:
            undo_intent(session, compartment, at=now, actor=ACTOR, why="door did not open")
            to_fault(
                core,
                session,
                compartment,
                at=now,
                actor=ACTOR,
                why="door did not open after unlock",
                alarm=AlarmKind.JAM,
            )
        return [DomainEvent("alarm", compartment.delivery_id, label, {"why": "lock_fault"})]
    if kind == EventKind.ITEM_CHANGED:
        audit.record(
            session, at=now, kind="item_changed", actor=ACTOR, compartment=label, item=event.item
        )
    return []
