"""The two state machines of DESIGN.md, and the only functions that change a state.

Each change is checked against the table below, stamped, and recorded as one audit event in
the caller's transaction (a delivery's move also as one outbound event ``delivery.<state>``,
see :mod:`locker.event_outbox`); an illegal one raises :class:`IllegalTransition` before
anything is written. Besides DESIGN.md's forward arrows there are *undo* arrows for a door
that never opened (``loading → announced``, ``collecting → stored``,
``retrieving → expired|cancelled``, ``reserved → free``, ``opening → occupied``), and every
compartment state can go to ``fault``. A technician's inspection of a fault may re-enter the
intent it interrupted (``fault → reserved|opening``) to settle it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlmodel import Session

from locker import alarms, audit, event_outbox
from locker.errors import IllegalTransition
from locker.models import Compartment, Delivery
from locker.vocabulary import AlarmKind
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D

if TYPE_CHECKING:
    from locker.core import Core

DELIVERY_MOVES: Final[dict[D, frozenset[D]]] = {
    D.ANNOUNCED: frozenset({D.LOADING, D.CANCELLED}),
    D.LOADING: frozenset({D.STORED, D.ANNOUNCED}),
    D.STORED: frozenset({D.COLLECTING, D.EXPIRED, D.CANCELLED}),
    D.COLLECTING: frozenset({D.COLLECTED, D.STORED}),
    D.EXPIRED: frozenset({D.RETRIEVING}),
    D.CANCELLED: frozenset({D.RETRIEVING}),
    D.RETRIEVING: frozenset({D.RETURNED, D.EXPIRED, D.CANCELLED}),
    D.COLLECTED: frozenset(),
    D.RETURNED: frozenset(),
}

COMPARTMENT_MOVES: Final[dict[C, frozenset[C]]] = {
    C.FREE: frozenset({C.RESERVED, C.OPENING, C.FAULT, C.OUT_OF_SERVICE}),
    C.RESERVED: frozenset({C.OCCUPIED, C.FREE, C.FAULT}),
    C.OCCUPIED: frozenset({C.OPENING, C.FAULT}),
    C.OPENING: frozenset({C.FREE, C.OCCUPIED, C.FAULT}),
    C.FAULT: frozenset({C.FREE, C.OCCUPIED, C.OUT_OF_SERVICE, C.RESERVED, C.OPENING}),
    C.OUT_OF_SERVICE: frozenset({C.FREE, C.OCCUPIED}),
}

ENDED: Final = frozenset({D.COLLECTED, D.RETURNED, D.CANCELLED})
"""States in which nothing more is owed to the citizen (a cancelled delivery may still wait in
its compartment for retrieval)."""

_STAMPS: Final = {
    D.STORED: "stored_at",
    D.COLLECTED: "collected_at",
    D.RETURNED: "returned_at",
    D.CANCELLED: "cancelled_at",
    D.EXPIRED: "expired_at",
}


def move_delivery(
    session: Session, delivery: Delivery, to: D, *, at: datetime, actor: str, why: str = ""
) -> None:
    before = D(delivery.state)
    if to not in DELIVERY_MOVES[before]:
        raise IllegalTransition(f"delivery {delivery.reference}: cannot go from {before} to {to}")
    delivery.state = to
    stamp = _STAMPS.get(to)
    if stamp and why != "undo":
        setattr(delivery, stamp, at)
    session.add(delivery)
    audit.record(
        session,
        at=at,
        kind=f"delivery_{to}",
        actor=actor,
        delivery_id=delivery.id,
        compartment=delivery.compartment,
        before=str(before),
        why=why or None,
    )
    event_outbox.record_delivery(session, delivery, at=at)


def move_compartment(
    session: Session,
    compartment: Compartment,
    to: C,
    *,
    at: datetime,
    actor: str,
    why: str = "",
    alert: bool = False,
) -> None:
    before = C(compartment.state)
    if to not in COMPARTMENT_MOVES[before]:
        raise IllegalTransition(f"compartment {compartment.label}: cannot go from {before} to {to}")
    compartment.state = to
    compartment.updated_at = at
    compartment.fault_reason = why if to in (C.FAULT, C.OUT_OF_SERVICE) else None
    session.add(compartment)
    audit.record(
        session,
        at=at,
        kind=f"compartment_{to}",
        actor=actor,
        delivery_id=compartment.delivery_id,
        compartment=compartment.label,
        alert=alert,
        before=str(before),
        why=why or None,
    )
    if before == C.FAULT and to != C.FAULT:
        alarms.clear(session, alarms.COMPARTMENT_FAULTS, at=at, compartment=compartment.label)


def to_fault(
    core: Core,
    session: Session,
    compartment: Compartment,
    *,
    at: datetime,
    actor: str,
    why: str,
    alarm: AlarmKind = AlarmKind.FAULT,
) -> None:
    """Take a compartment out of use with an alarm for the clerks: a person must look."""
    move_compartment(session, compartment, C.FAULT, at=at, actor=actor, why=why, alert=True)
    alarms.raise_alarm(
        core,
        session,
        alarm,
        at=at,
        compartment=compartment.label,
        reason=why,
    )


def note_door(compartment: Compartment, is_open: bool, at: datetime) -> None:
    """Record the door as the hardware last reported it (the open-door alarm reads this)."""
    if is_open != compartment.door_open:
        compartment.door_opened_at = at if is_open else None
        compartment.door_alarmed = False
    compartment.door_open = is_open
