"""A clerk loads a document: allocate the compartment, open it; storing follows the door."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from locker import audit
from locker.core import Core, DomainEvent
from locker.db import reading, transaction
from locker.errors import IllegalTransition, NoCompartmentFree
from locker.models import Compartment, Delivery
from locker.reach import Reach, reach_key
from locker.services.intents import attach, begin_intent, pulse
from locker.services.lookup import delivery_by_id
from locker.states import move_delivery
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D
from locker.vocabulary import Size


def choose_compartment(
    free: list[Compartment], size: Size, *, accessible: bool, reach: Reach
) -> Compartment | None:
    """The smallest free compartment that fits.

    A recipient who needs an accessible compartment gets one within reach if any fits (size
    still counts second); everyone else is steered *away* from those while others remain, to
    keep them for people who need them.
    """
    fitting = [c for c in free if Size(size).fits_into(Size(c.size))]

    def key(c: Compartment) -> tuple[int, ...]:
        preferred = reach_key(reach, c.label, c.row, accessible=accessible)
        if accessible:
            return (preferred, Size(c.size).rank, c.row)
        return (Size(c.size).rank, preferred)

    return min(sorted(fitting, key=lambda c: c.label), key=key, default=None)


def allocate(session: Session, delivery: Delivery, reach: Reach) -> Compartment:
    free = list(session.exec(select(Compartment).where(col(Compartment.state) == C.FREE)))
    chosen = choose_compartment(
        free, Size(delivery.size), accessible=delivery.accessible, reach=reach
    )
    if chosen is None:
        raise NoCompartmentFree(
            f"No free compartment of size {delivery.size} or larger is left in this locker."
        )
    return chosen


def reach_of(core: Core) -> Reach:
    """The policy's reach range over the bank's handle heights."""
    return Reach.of(core.settings.policy, core.bank.compartments())


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a delivery was put, as the clerk screen reports it."""

    compartment: str
    needs_accessible: bool
    within_reach: bool

    @property
    def fell_back(self) -> bool:
        """An accessible compartment was needed and none within reach was free or fitted."""
        return self.needs_accessible and not self.within_reach


def placement(core: Core, delivery_id: str) -> Placement:
    """The compartment of a delivery being loaded, and whether it is within reach."""
    with reading(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        label = delivery.compartment or ""
        compartment = session.get(Compartment, label)
        row = compartment.row if compartment else 0
        accessible = delivery.accessible
    return Placement(label, accessible, reach_of(core).covers(label, row))


def start_loading(core: Core, delivery_id: str, *, actor: str) -> str:
    """Allocate and open a compartment for an announced delivery; return its label."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        if delivery.state != D.ANNOUNCED:
            raise IllegalTransition(
                f"Delivery {delivery.reference} is {delivery.state}, not waiting to be loaded."
            )
        reach = reach_of(core)
        compartment = allocate(session, delivery, reach)
        if delivery.accessible and not reach.covers(compartment.label, compartment.row):
            audit.record(
                session,
                at=now,
                kind="accessible_fallback",
                actor=actor,
                delivery_id=delivery.id,
                compartment=compartment.label,
            )
        begin_intent(session, compartment, C.RESERVED, at=now, actor=actor, why="loading")
        attach(delivery, compartment)
        move_delivery(session, delivery, D.LOADING, at=now, actor=actor)
        label = compartment.label
    core.publish(DomainEvent("delivery_loading", delivery_id, label))
    core.publish(*pulse(core, label, actor=actor))
    return label
