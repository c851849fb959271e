"""A clerk loads a document: allocate the compartment, open it; storing follows the door."""

from __future__ import annotations

from sqlmodel import Session, col, select

from locker.config import PolicySection
from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.errors import IllegalTransition, NoCompartmentFree
from locker.models import Compartment, Delivery
from locker.services.intents import attach, begin_intent, pulse
from locker.services.lookup import delivery_by_id
from locker.states import move_delivery
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D
from locker.vocabulary import Size


def choose_compartment(
    free: list[Compartment], size: Size, *, accessible: bool, policy: PolicySection
) -> Compartment | None:
    """The smallest free compartment that fits.

    A recipient who needs an accessible compartment gets one in the accessible rows if any
    fits (size still counts second); everyone else is steered *away* from those rows while
    others remain, to keep them for people who need them.
    """
    reachable = set(policy.accessible_rows)
    fitting = [c for c in free if Size(size).fits_into(Size(c.size))]

    def key(c: Compartment) -> tuple[int, ...]:
        in_reach = c.row in reachable
        if accessible:
            return (not in_reach, Size(c.size).rank, c.row)
        return (Size(c.size).rank, in_reach)

    return min(sorted(fitting, key=lambda c: c.label), key=key, default=None)


def allocate(session: Session, delivery: Delivery, policy: PolicySection) -> Compartment:
    free = list(session.exec(select(Compartment).where(col(Compartment.state) == C.FREE)))
    chosen = choose_compartment(
        free, Size(delivery.size), accessible=delivery.accessible, policy=policy
    )
    if chosen is None:
        raise NoCompartmentFree(
            f"No free compartment of size {delivery.size} or larger is left in this locker."
        )
    return chosen


def start_loading(core: Core, delivery_id: str, *, actor: str) -> str:
    """Allocate and open a compartment for an announced delivery; return its label."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        if delivery.state != D.ANNOUNCED:
            raise IllegalTransition(
                f"Delivery {delivery.reference} is {delivery.state}, not waiting to be loaded."
            )
        compartment = allocate(session, delivery, core.settings.policy)
        begin_intent(session, compartment, C.RESERVED, at=now, actor=actor, why="loading")
        attach(delivery, compartment)
        move_delivery(session, delivery, D.LOADING, at=now, actor=actor)
        label = compartment.label
    core.publish(DomainEvent("delivery_loading", delivery_id, label))
    core.publish(*pulse(core, label, actor=actor))
    return label
