"""A clerk takes back an expired or cancelled document from its compartment."""

from __future__ import annotations

from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.errors import HardwareFault, IllegalTransition
from locker.services.intents import begin_intent, pulse
from locker.services.lookup import compartment_by_label, delivery_by_id
from locker.states import move_delivery
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D


def start_retrieval(core: Core, delivery_id: str, *, actor: str) -> str:
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        if delivery.state not in (D.EXPIRED, D.CANCELLED) or delivery.compartment is None:
            raise IllegalTransition(
                f"Delivery {delivery.reference} is {delivery.state}; only expired or cancelled"
                " documents still in a compartment can be retrieved."
            )
        compartment = compartment_by_label(session, delivery.compartment)
        if compartment.state != C.OCCUPIED:
            raise HardwareFault(
                f"Compartment {compartment.label} is {compartment.state}; a technician must"
                " clear it first."
            )
        begin_intent(session, compartment, C.OPENING, at=now, actor=actor, why="retrieval")
        move_delivery(session, delivery, D.RETRIEVING, at=now, actor=actor)
        label = compartment.label
    core.publish(DomainEvent("delivery_retrieving", delivery_id, label))
    core.publish(*pulse(core, label, actor=actor))
    return label
