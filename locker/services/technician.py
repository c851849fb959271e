"""What a technician may do: open a compartment with a reason, take it out of service, and
clear a fault after looking inside."""

from __future__ import annotations

from locker import audit
from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.errors import IllegalTransition, InvalidInput
from locker.services.intents import (
    INTENT_STATES,
    begin_intent,
    complete_intent,
    detach,
    pulse,
    undo_intent,
)
from locker.services.lookup import compartment_by_label, delivery_in
from locker.states import move_compartment, move_delivery
from locker.text import printable
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D


def _reason(reason: str) -> str:
    reason = printable("reason", reason)
    if not reason:
        raise InvalidInput("reason", "say why (it goes into the audit log)", "reason_missing")
    return reason[:200]


def open_for_service(core: Core, label: str, *, reason: str, actor: str) -> None:
    """Open a compartment outside any delivery flow; a fault or out-of-service one stays so."""
    why = _reason(reason)
    now = core.clock.now()
    with transaction(core.engine) as session:
        compartment = compartment_by_label(session, label)
        if compartment.state in (C.FREE, C.OCCUPIED):
            begin_intent(session, compartment, C.OPENING, at=now, actor=actor, why=why)
        elif compartment.state in INTENT_STATES:
            raise IllegalTransition(f"Compartment {label} is being opened already.")
        audit.record(
            session,
            at=now,
            kind="service_open",
            actor=actor,
            compartment=label,
            delivery_id=compartment.delivery_id,
            why=why,
        )
    core.publish(*pulse(core, label, actor=actor))


def set_out_of_service(core: Core, label: str, out: bool, *, reason: str, actor: str) -> str:
    why = _reason(reason)
    now = core.clock.now()
    with transaction(core.engine) as session:
        compartment = compartment_by_label(session, label)
        if out and compartment.state != C.OUT_OF_SERVICE:
            move_compartment(session, compartment, C.OUT_OF_SERVICE, at=now, actor=actor, why=why)
        elif not out and compartment.state == C.OUT_OF_SERVICE:
            back = C.OCCUPIED if compartment.delivery_id else C.FREE
            move_compartment(session, compartment, back, at=now, actor=actor, why=why)
        state = str(compartment.state)
    core.publish(DomainEvent("compartment_changed", None, label))
    return state


def clear_fault(core: Core, label: str, *, document_inside: bool, actor: str) -> str:
    """A technician looked inside a faulted compartment and says whether the document is there.

    That answer settles any delivery the fault left half-way: inside means the door did not
    let it out (or in: a load is then stored); empty means it left (or never came).
    """
    now = core.clock.now()
    events: list[DomainEvent] = []
    with transaction(core.engine) as session:
        compartment = compartment_by_label(session, label)
        if compartment.state != C.FAULT:
            raise IllegalTransition(f"Compartment {label} is {compartment.state}, not in fault.")
        delivery = delivery_in(session, compartment)
        audit.record(
            session,
            at=now,
            kind="fault_inspected",
            actor=actor,
            compartment=label,
            delivery_id=compartment.delivery_id,
            document_inside=document_inside,
        )
        if delivery is None:
            move_compartment(session, compartment, C.FREE, at=now, actor=actor, why="cleared")
        elif delivery.state in (D.LOADING, D.COLLECTING, D.RETRIEVING):
            move_compartment(
                session,
                compartment,
                C.OPENING if delivery.state != D.LOADING else C.RESERVED,
                at=now,
                actor=actor,
                why="inspected",
            )
            if document_inside == (delivery.state == D.LOADING):
                events = complete_intent(core, session, compartment, at=now, actor=actor)
            else:
                undo_intent(session, compartment, at=now, actor=actor, why="inspected")
        elif document_inside:
            move_compartment(session, compartment, C.OCCUPIED, at=now, actor=actor, why="cleared")
        else:
            audit.record(
                session,
                at=now,
                kind="document_missing",
                actor=actor,
                alert=True,
                compartment=label,
                delivery_id=delivery.id,
            )
            if delivery.state == D.STORED:
                move_delivery(session, delivery, D.CANCELLED, at=now, actor=actor, why="missing")
            else:
                move_delivery(session, delivery, D.RETRIEVING, at=now, actor=actor, why="missing")
                move_delivery(session, delivery, D.RETURNED, at=now, actor=actor, why="missing")
            detach(delivery, compartment)
            delivery.ended_at = now
            move_compartment(session, compartment, C.FREE, at=now, actor=actor, why="cleared")
        state = str(compartment.state)
    core.publish(DomainEvent("compartment_changed", None, label), *events)
    return state
