"""Announcing and cancelling deliveries."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from locker import audit, event_outbox
from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.errors import Conflict, IllegalTransition, InvalidInput
from locker.models import Delivery
from locker.recipients import (
    check_birth_date,
    normalise_email,
    normalise_locale,
    normalise_phone,
)
from locker.services.intents import revoke_codes
from locker.services.lookup import delivery_by_id, delivery_by_reference
from locker.states import move_delivery
from locker.text import printable
from locker.vocabulary import DeliveryState as D
from locker.vocabulary import DocumentType, Size


@dataclass(frozen=True)
class Announcement:
    reference: str
    document_type: DocumentType
    name: str
    phone: str | None = None
    email: str | None = None
    locale: str = "de"
    size: Size = Size.S
    date_of_birth: date | None = None
    accessible: bool = False


def announce(core: Core, new: Announcement, *, actor: str) -> Delivery:
    """Record a document that will be loaded; contact details are checked and normalised."""
    now = core.clock.now()
    delivery = prepare(core, new, now)
    with transaction(core.engine) as session:
        existing = delivery_by_reference(session, delivery.reference)
        if existing is not None:
            raise Conflict(
                f"A delivery with reference {delivery.reference!r} exists already.",
                reason="reference_exists",
                facts={
                    "reference": existing.reference,
                    "delivery_id": existing.id,
                    "state": existing.state,
                    "compartment": existing.compartment,
                },
            )
        write_announced(session, delivery, actor=actor, at=now)
    core.publish(DomainEvent("delivery_announced", delivery.id))
    return delivery


def prepare(core: Core, new: Announcement, now: datetime) -> Delivery:
    """The delivery ``new`` describes, checked and normalised, not yet stored.

    The one validation of an announcement: :func:`announce` and the bulk import both use it.
    Raises :class:`InvalidInput` naming the field at fault.
    """
    reference = printable("reference", new.reference)
    if not reference or len(reference) > 64:
        raise InvalidInput("reference", "reference must be 1 to 64 characters", "length")
    if not new.phone and not new.email:
        raise InvalidInput(
            "recipient", "give the recipient's phone number or e-mail address", "contact_missing"
        )
    if new.document_type in core.settings.policy.second_factor_documents and not new.date_of_birth:
        raise InvalidInput(
            "recipient.date_of_birth",
            f"a {new.document_type.value} is handed out only against the date of birth; give it",
            "birth_date_required",
        )
    return Delivery(
        id=secrets.token_hex(8),
        reference=reference,
        document_type=new.document_type,
        size=new.size,
        accessible=new.accessible,
        recipient_name=printable("recipient.name", new.name) or None,
        recipient_phone=(
            normalise_phone(new.phone, core.settings.sms.default_region) if new.phone else None
        ),
        recipient_email=normalise_email(new.email) if new.email else None,
        recipient_locale=normalise_locale(new.locale),
        date_of_birth=(
            check_birth_date(new.date_of_birth, now.date()) if new.date_of_birth else None
        ),
        created_at=now,
    )


def write_announced(session: Session, delivery: Delivery, *, actor: str, at: datetime) -> None:
    """Add a prepared delivery, its audit event and its outbound event to the transaction."""
    session.add(delivery)
    session.flush()
    audit.record(
        session,
        at=at,
        kind="delivery_announced",
        actor=actor,
        delivery_id=delivery.id,
        document_type=str(delivery.document_type),
        size=str(delivery.size),
    )
    event_outbox.record_delivery(session, delivery, at=at)


def cancel(core: Core, delivery_id: str, *, actor: str) -> Delivery:
    """Withdraw a delivery; a stored one then waits in its compartment for retrieval."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        if delivery.state not in (D.ANNOUNCED, D.STORED):
            raise IllegalTransition(
                f"Delivery {delivery.reference} is {delivery.state}; only announced or stored"
                " deliveries can be cancelled."
            )
        move_delivery(session, delivery, D.CANCELLED, at=now, actor=actor)
        revoke_codes(session, delivery, now)
        if delivery.compartment is None:
            delivery.ended_at = now
    core.publish(DomainEvent("delivery_cancelled", delivery.id, delivery.compartment))
    return delivery
