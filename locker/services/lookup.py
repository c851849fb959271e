"""Fetching rows by what people call them, with errors in their words."""

from __future__ import annotations

from sqlmodel import Session, col, select

from locker.errors import NotFound
from locker.models import Compartment, Delivery


def delivery_by_id(session: Session, delivery_id: str) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"There is no delivery {delivery_id!r}.")
    return delivery


def delivery_by_reference(session: Session, reference: str) -> Delivery | None:
    return session.exec(select(Delivery).where(col(Delivery.reference) == reference)).one_or_none()


def compartment_by_label(session: Session, label: str) -> Compartment:
    compartment = session.get(Compartment, label)
    if compartment is None:
        raise NotFound(f"There is no compartment {label!r}.")
    return compartment


def delivery_in(session: Session, compartment: Compartment) -> Delivery | None:
    if compartment.delivery_id is None:
        return None
    return session.get(Delivery, compartment.delivery_id)
