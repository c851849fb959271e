"""What a clerk fixes on a delivery: a new code, another contact, a longer pickup period — and
finding the delivery first (search, and its timeline from the audit log).

* :func:`resend`: a new pickup code goes out; every older code is void in the same
  transaction, so a code that reached the wrong person opens nothing from then on.
* :func:`change_contact`: another phone, e-mail or language; for a stored delivery the code
  goes anew to the new contact (the old one void), since the old contact had it.
* :func:`extend`: the pickup period grows by some days, at most ``policy.max_extension_days``
  beyond the normal period in all; the codes live as long.

Each is one transaction with one audit event (which fields changed, never their values) and
an outbound event; a message that died for the delivery is no longer an alarm once a new one
is on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from locker import alarms, audit, event_outbox
from locker.core import Core, DomainEvent
from locker.db import reading, transaction
from locker.errors import IllegalTransition, InvalidInput
from locker.models import AuditEvent, Delivery, PickupCode
from locker.recipients import normalise_email, normalise_locale, normalise_phone
from locker.services.intents import revoke_codes, send_code
from locker.services.lookup import delivery_by_id
from locker.vocabulary import AlarmKind
from locker.vocabulary import DeliveryState as D

CONTACT_STATES = (D.ANNOUNCED, D.STORED)
SEARCH_LIMIT = 100


@dataclass(frozen=True)
class Step:
    """One line of a delivery's timeline."""

    at: datetime
    kind: str
    actor: str
    compartment: str | None


def _stored(delivery: Delivery, what: str) -> None:
    if delivery.state != D.STORED:
        raise IllegalTransition(
            f"Delivery {delivery.reference} is {delivery.state}: {what} only while it is stored."
        )


def _changed(
    core: Core,
    session: Session,
    delivery: Delivery,
    *,
    at: datetime,
    kind: str,
    actor: str,
    **detail: str | int | bool | None,
) -> None:
    audit.record(
        session,
        at=at,
        kind=kind,
        actor=actor,
        delivery_id=delivery.id,
        compartment=delivery.compartment,
        alert=False,
        **detail,
    )
    event_outbox.record_delivery(session, delivery, at=at, type=f"delivery.{kind}")


def _new_code(core: Core, session: Session, delivery: Delivery, at: datetime) -> None:
    revoke_codes(session, delivery, at)
    send_code(core, session, delivery, at=at)
    alarms.clear(session, (AlarmKind.MESSAGE_DEAD,), at=at, core=core, delivery_id=delivery.id)


def resend(core: Core, delivery_id: str, *, actor: str) -> None:
    """Send the notification again with a new code; the old code is void at once."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        _stored(delivery, "a new code is sent")
        _new_code(core, session, delivery, now)
        _changed(core, session, delivery, at=now, kind="code_resent", actor=actor)
    core.publish(DomainEvent("delivery_changed", delivery_id, delivery.compartment))


def change_contact(
    core: Core,
    delivery_id: str,
    *,
    actor: str,
    phone: str | None,
    email: str | None,
    locale: str | None = None,
) -> bool:
    """Replace the recipient's phone and e-mail (empty: none) and, if given, the language.

    Returns whether a new code was sent (a stored delivery's code goes to the new contact).
    """
    now = core.clock.now()
    new_phone = normalise_phone(phone, core.settings.sms.default_region) if phone else None
    new_email = normalise_email(email) if email else None
    if not new_phone and not new_email:
        raise InvalidInput("recipient", "give the recipient's phone number or e-mail address")
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        if delivery.state not in CONTACT_STATES or delivery.erased_at is not None:
            raise IllegalTransition(
                f"Delivery {delivery.reference} is {delivery.state}: its contact can be changed"
                " only while it is announced or stored."
            )
        fields = []
        if new_phone != delivery.recipient_phone:
            fields.append("phone")
        if new_email != delivery.recipient_email:
            fields.append("email")
        if locale and normalise_locale(locale) != delivery.recipient_locale:
            delivery.recipient_locale = normalise_locale(locale)
            fields.append("locale")
        delivery.recipient_phone, delivery.recipient_email = new_phone, new_email
        session.add(delivery)
        resent = delivery.state == D.STORED and bool(fields)
        if resent:
            _new_code(core, session, delivery, now)
        _changed(
            core,
            session,
            delivery,
            at=now,
            kind="contact_changed",
            actor=actor,
            fields=",".join(fields) or "none",
            new_code=resent,
        )
    core.publish(DomainEvent("delivery_changed", delivery_id, delivery.compartment))
    return resent


def extend(core: Core, delivery_id: str, days: int, *, actor: str) -> datetime:
    """Lengthen a stored delivery's pickup period by ``days``; return the new end."""
    limit = core.settings.policy.max_extension_days
    if days < 1:
        raise InvalidInput("days", "extend by at least one day")
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        _stored(delivery, "the pickup period can be extended")
        assert delivery.stored_at is not None and delivery.expires_at is not None
        normal_end = delivery.stored_at + timedelta(days=core.settings.policy.pickup_days)
        new_end = delivery.expires_at + timedelta(days=days)
        if new_end > normal_end + timedelta(days=limit):
            left = max(0, (normal_end + timedelta(days=limit) - delivery.expires_at).days)
            raise InvalidInput(
                "days", f"at most {limit} days in all beyond the normal period; {left} left"
            )
        delivery.expires_at = new_end
        session.add(delivery)
        for code in session.exec(
            select(PickupCode).where(
                col(PickupCode.delivery_id) == delivery.id,
                col(PickupCode.used_at).is_(None),
                col(PickupCode.revoked_at).is_(None),
            )
        ):
            code.expires_at = new_end
            session.add(code)
        _changed(core, session, delivery, at=now, kind="extended", actor=actor, days=days)
    core.publish(DomainEvent("delivery_changed", delivery_id, delivery.compartment))
    return new_end


def search(
    core: Core, text: str = "", state: D | None = None, *, limit: int = SEARCH_LIMIT
) -> list[Delivery]:
    """Deliveries whose reference or recipient's name contains ``text`` (any case), newest
    first; optionally only those in ``state``."""
    query = select(Delivery).order_by(col(Delivery.created_at).desc(), col(Delivery.id))
    if text.strip():
        query = query.where(matching(text))
    if state is not None:
        query = query.where(col(Delivery.state) == state)
    with reading(core.engine) as session:
        return list(session.exec(query.limit(limit)))


def matching(text: str) -> Any:
    """Reference or recipient's name contains ``text``, in any case (``%`` and ``_`` literal)."""
    words = text.strip().lower()
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        func.lower(col(Delivery.reference)).like(pattern, escape="\\"),
        func.lower(col(Delivery.recipient_name)).like(pattern, escape="\\"),
    )


def timeline(core: Core, delivery_id: str) -> list[Step]:
    """What happened to a delivery, oldest first, from the audit log."""
    with reading(core.engine) as session:
        delivery_by_id(session, delivery_id)
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.delivery_id) == delivery_id)
            .order_by(col(AuditEvent.id))
        )
        return [Step(r.at, r.kind, r.actor, r.compartment) for r in rows if r.at is not None]
