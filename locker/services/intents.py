"""Intent, outcome and completion of every door opening, shared by all four reasons to open.

A door is opened for loading (compartment ``reserved``), pickup, retrieval or service
(compartment ``opening``). The intent is committed before the lock is pulsed; afterwards
the outcome is committed. Which way to *undo* (the door never opened) or *complete* (the door
opened and closed again) follows from the delivery's state alone, so the same two functions
serve every reason, the door-event handler, start-up reconciliation and a technician's
inspection.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from locker import alarms, audit, codes, outbox
from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.errors import HardwareFault, HardwareUnavailable
from locker.models import Compartment, Delivery, PickupCode
from locker.ports import UnlockOutcome, UnlockResult
from locker.services.lookup import compartment_by_label, delivery_in
from locker.states import move_compartment, move_delivery, to_fault
from locker.vocabulary import AlarmKind, MessageKind
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D

INTENT_STATES = (C.RESERVED, C.OPENING)


def begin_intent(
    session: Session, compartment: Compartment, to: C, *, at: datetime, actor: str, why: str
) -> None:
    move_compartment(session, compartment, to, at=at, actor=actor, why=why)
    compartment.opened_since_intent = False


def attach(delivery: Delivery, compartment: Compartment) -> None:
    delivery.compartment = compartment.label
    compartment.delivery_id = delivery.id


def detach(delivery: Delivery, compartment: Compartment) -> None:
    delivery.compartment = None
    compartment.delivery_id = None


def undo_intent(
    session: Session, compartment: Compartment, *, at: datetime, actor: str, why: str
) -> None:
    """The door did not open: put delivery and compartment back as they were."""
    delivery = delivery_in(session, compartment)
    if delivery is not None:
        if delivery.state == D.LOADING:
            move_delivery(session, delivery, D.ANNOUNCED, at=at, actor=actor, why="undo")
            detach(delivery, compartment)
        elif delivery.state == D.COLLECTING:
            move_delivery(session, delivery, D.STORED, at=at, actor=actor, why="undo")
        elif delivery.state == D.RETRIEVING:
            before = D.EXPIRED if delivery.cancelled_at is None else D.CANCELLED
            move_delivery(session, delivery, before, at=at, actor=actor, why="undo")
    holds = compartment.delivery_id is not None
    if compartment.state in INTENT_STATES:
        move_compartment(
            session, compartment, C.OCCUPIED if holds else C.FREE, at=at, actor=actor, why=why
        )


def complete_intent(
    core: Core, session: Session, compartment: Compartment, *, at: datetime, actor: str
) -> list[DomainEvent]:
    """The door opened and closed again: finish what the intent set out to do."""
    delivery = delivery_in(session, compartment)
    label = compartment.label
    if delivery is not None and delivery.state == D.LOADING:
        if core.settings.policy.four_eyes_loading and delivery.witnessed_by is None:
            return _unconfirmed(session, delivery, compartment, at=at, actor=actor)
        return store(core, session, delivery, compartment, at=at, actor=actor)
    if delivery is not None and delivery.state in (D.COLLECTING, D.RETRIEVING):
        collected = delivery.state == D.COLLECTING
        move_delivery(
            session, delivery, D.COLLECTED if collected else D.RETURNED, at=at, actor=actor
        )
        mark_code_used(session, delivery, at)
        detach(delivery, compartment)
        delivery.ended_at = at
        kind = MessageKind.COLLECTED if collected else MessageKind.RETURNED
        outbox.enqueue(
            core,
            session,
            delivery,
            kind,
            at=at,
            location=core.settings.locker.location,
        )
        move_compartment(session, compartment, C.FREE, at=at, actor=actor)
        alarms.clear(session, (AlarmKind.MESSAGE_DEAD,), at=at, core=core, delivery_id=delivery.id)
        alarms.check_capacity(core, session, at=at)
        return [DomainEvent(f"delivery_{delivery.state}", delivery.id, label)]
    move_compartment(session, compartment, C.OCCUPIED if delivery else C.FREE, at=at, actor=actor)
    return [DomainEvent("compartment_closed", None, label)]


def _unconfirmed(
    session: Session, delivery: Delivery, compartment: Compartment, *, at: datetime, actor: str
) -> list[DomainEvent]:
    """Four-eyes loading: the door closed before a second person confirmed. Nothing is stored
    and nothing sent; the compartment stays reserved until it is opened again and confirmed."""
    compartment.opened_since_intent = False
    session.add(compartment)
    audit.record(
        session,
        at=at,
        kind="loading_unconfirmed",
        actor=actor,
        alert=True,
        delivery_id=delivery.id,
        compartment=compartment.label,
        loaded_by=delivery.loaded_by,
    )
    return [DomainEvent("loading_unconfirmed", delivery.id, compartment.label)]


def store(
    core: Core,
    session: Session,
    delivery: Delivery,
    compartment: Compartment,
    *,
    at: datetime,
    actor: str,
) -> list[DomainEvent]:
    """The clerk closed the door on the document: make the code and tell the citizen."""
    policy = core.settings.policy
    delivery.expires_at = at + timedelta(days=policy.pickup_days)
    move_delivery(session, delivery, D.STORED, at=at, actor=actor)
    move_compartment(session, compartment, C.OCCUPIED, at=at, actor=actor)
    send_code(core, session, delivery, at=at)
    return [DomainEvent("delivery_stored", delivery.id, compartment.label)]


def send_code(core: Core, session: Session, delivery: Delivery, *, at: datetime) -> None:
    """A new pickup code for a stored delivery, and the message that carries it (the code is
    sealed into the outbox row and known here only by its HMAC)."""
    assert delivery.expires_at is not None
    code = codes.new_code()
    session.add(
        PickupCode(
            delivery_id=delivery.id,
            code_hash=codes.code_hash(core.code_key, code),
            created_at=at,
            expires_at=delivery.expires_at,
        )
    )
    outbox.enqueue(
        core,
        session,
        delivery,
        MessageKind.STORED,
        at=at,
        secrets={"code": code, "qr": codes.qr_payload(core.settings.locker.bank_id, code)},
        expires_at=delivery.expires_at.isoformat(),
        location=core.settings.locker.location,
    )


def revoke_codes(session: Session, delivery: Delivery, at: datetime) -> None:
    for code in _codes(session, delivery):
        if code.revoked_at is None and code.used_at is None:
            code.revoked_at = at
            session.add(code)


def mark_code_used(session: Session, delivery: Delivery, at: datetime) -> None:
    """Spend the delivery's live codes; a revoked one stays revoked (its owner is still told
    "expired", not "wrong code")."""
    for code in _codes(session, delivery):
        if code.used_at is None and code.revoked_at is None:
            code.used_at = at
            session.add(code)


def _codes(session: Session, delivery: Delivery) -> list[PickupCode]:
    return list(session.exec(select(PickupCode).where(col(PickupCode.delivery_id) == delivery.id)))


def pulse(core: Core, label: str, *, actor: str, undo: bool = True) -> list[DomainEvent]:
    """Pulse the lock once the intent is committed; commit what came of it.

    A lock read back as still closed gets exactly one more pulse (the read proves the first
    did not open it, so the second cannot open it twice); then the compartment goes to
    ``fault``. Raises :class:`HardwareUnavailable` or :class:`HardwareFault` for the caller.
    ``undo=False`` (opening again a compartment that already holds the document) leaves the
    intent as it is when the lock does not open.
    """
    result = core.bank.unlock(label)
    if result.outcome == UnlockOutcome.STAYED_LOCKED:
        result = core.bank.unlock(label)
    at = core.clock.now()
    with transaction(core.engine) as session:
        compartment = compartment_by_label(session, label)
        error = _settle(core, session, compartment, result, at=at, actor=actor, undo=undo)
    if error is not None:
        raise error
    return [DomainEvent("compartment_unlocked", compartment.delivery_id, label)]


def _settle(
    core: Core,
    session: Session,
    compartment: Compartment,
    result: UnlockResult,
    *,
    at: datetime,
    actor: str,
    undo: bool = True,
) -> HardwareUnavailable | HardwareFault | None:
    label = compartment.label
    audit.record(
        session,
        at=at,
        kind="unlock",
        actor=actor,
        delivery_id=compartment.delivery_id,
        compartment=label,
        outcome=str(result.outcome),
        alert=result.outcome != UnlockOutcome.UNLOCKED,
        hw=result.detail or None,
    )
    still_waiting = compartment.state in INTENT_STATES and not compartment.opened_since_intent
    if result.outcome == UnlockOutcome.UNLOCKED:
        return None
    if result.outcome == UnlockOutcome.NOT_SENT:
        if still_waiting and undo:
            undo_intent(session, compartment, at=at, actor=actor, why="lock not reachable")
        return HardwareUnavailable(
            f"Compartment {label} cannot be opened right now: its lock board is not answering."
        )
    if result.outcome == UnlockOutcome.STAYED_LOCKED:
        if still_waiting:
            if undo:
                undo_intent(session, compartment, at=at, actor=actor, why="lock stayed closed")
            to_fault(
                core,
                session,
                compartment,
                at=at,
                actor=actor,
                why="lock stayed closed after two pulses",
                alarm=AlarmKind.JAM,
            )
        return HardwareFault(
            f"The lock of compartment {label} did not open. Please call the citizens' office;"
            " your code stays valid."
        )
    return HardwareUnavailable(
        f"Compartment {label} may or may not have opened; the controller will find out when"
        " its board answers again."
    )
