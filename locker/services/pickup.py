"""A citizen collects a document with a code (typed or scanned) and maybe a date of birth.

Order of checks, so that nothing leaks and nothing is wasted: the code's *form* first (not
counted: it tells nothing); then the kiosk's lockout and the locker-wide hourly budget; then
the code by its keyed hash; then the delivery's own lockout, expiry and second factor. Every
wrong code or wrong date of birth counts against the kiosk and the locker-wide budget, a wrong
date of birth also against the delivery, and all of them get the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from locker import audit, codes, throttle
from locker.core import Core, DomainEvent
from locker.db import transaction
from locker.errors import (
    CodeExpired,
    CodeInvalid,
    DomainError,
    HardwareFault,
    RateLimited,
    SecondFactorRequired,
    WrongLocker,
)
from locker.models import Compartment, Delivery, PickupCode
from locker.services.intents import begin_intent, pulse
from locker.states import move_delivery
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D

WRONG = "This code is not valid here. Please check it and try again."
EXPIRED = (
    "The pickup time for this document has ended. It is going back to the citizens' office;"
    " please contact them to collect it there."
)
BANK_BUDGET_KEY = "bank:pickup-failures"


class AlreadyOpening(DomainError):
    code = "already_open"


@dataclass(frozen=True)
class PickupGranted:
    delivery_id: str
    compartment: str


def pickup(core: Core, text: str, *, date_of_birth: date | None, kiosk: str) -> PickupGranted:
    """Check the code and open the compartment; raise a :class:`DomainError` otherwise."""
    scanned = codes.parse_input(text)
    bank_id = core.settings.locker.bank_id
    if scanned.bank_id is not None and scanned.bank_id != bank_id:
        raise WrongLocker(
            f"This code belongs to another locker ({scanned.bank_id}). Please go to the locker"
            " named in your message.",
            scanned.bank_id,
        )
    digest = codes.code_hash(core.code_key, scanned.code)
    now = core.clock.now()
    with transaction(core.engine) as session:
        outcome = _authorise(core, session, digest, date_of_birth, f"kiosk:{kiosk}", now)
    if isinstance(outcome, DomainError):
        raise outcome
    core.publish(DomainEvent("delivery_collecting", outcome.delivery_id, outcome.compartment))
    core.publish(*pulse(core, outcome.compartment, actor="citizen"))
    return outcome


def _authorise(
    core: Core,
    session: Session,
    digest: str,
    date_of_birth: date | None,
    kiosk_key: str,
    now: datetime,
) -> PickupGranted | DomainError:
    """Decide inside one transaction; failures are *returned* so that their counts commit."""
    security = core.settings.security
    kiosk_rule = throttle.Backoff(
        security.kiosk_max_failures, security.kiosk_lockout_base_s, security.kiosk_lockout_max_s
    )
    wait = max(
        throttle.seconds_locked(session, kiosk_key, now),
        throttle.seconds_locked(session, BANK_BUDGET_KEY, now),
    )
    if wait:
        return RateLimited(_locked_message(wait), wait)

    def wrong(why: str, delivery: Delivery | None = None) -> DomainError:
        locked = throttle.fail(session, kiosk_key, kiosk_rule, now)
        throttle.spend(session, BANK_BUDGET_KEY, security.bank_failures_per_hour, now)
        audit.record(
            session,
            at=now,
            kind="pickup_refused",
            actor="citizen",
            delivery_id=delivery.id if delivery else None,
            why=why,
            alert=locked > 0,
        )
        return RateLimited(_locked_message(locked), locked) if locked else CodeInvalid(WRONG)

    row = session.exec(select(PickupCode).where(col(PickupCode.code_hash) == digest)).one_or_none()
    if row is None or not codes.same_hash(row.code_hash, digest):
        return wrong("unknown code")
    delivery = session.get(Delivery, row.delivery_id)
    assert delivery is not None
    if row.used_at is None and delivery.expired_at is not None:
        return CodeExpired(EXPIRED)
    if row.used_at is not None or row.revoked_at is not None:
        return wrong("code used or revoked", delivery)
    delivery_key = f"delivery:{delivery.id}"
    wait = throttle.seconds_locked(session, delivery_key, now)
    if wait:
        return RateLimited(_locked_message(wait), wait)
    if delivery.state == D.COLLECTING:
        return AlreadyOpening(f"Compartment {delivery.compartment} is being opened already.")
    if delivery.state == D.STORED and row.expires_at and row.expires_at <= now:
        return CodeExpired(EXPIRED)
    if delivery.state != D.STORED:
        return wrong(f"delivery {delivery.state}", delivery)
    if _needs_second_factor(core, delivery):
        if date_of_birth is None:
            return SecondFactorRequired("Please enter your date of birth.")
        if date_of_birth != delivery.date_of_birth:
            security = core.settings.security
            rule = throttle.Backoff(
                security.delivery_max_failures,
                security.delivery_lockout_base_s,
                security.delivery_lockout_max_s,
            )
            throttle.fail(session, delivery_key, rule, now)
            return wrong("second factor", delivery)
    compartment = session.get(Compartment, delivery.compartment)
    assert compartment is not None
    if compartment.state != C.OCCUPIED:
        return HardwareFault(
            f"Compartment {compartment.label} cannot be opened right now. Please call the"
            " citizens' office; your code stays valid."
        )
    throttle.succeed(session, kiosk_key)
    throttle.succeed(session, delivery_key)
    begin_intent(session, compartment, C.OPENING, at=now, actor="citizen", why="pickup")
    move_delivery(session, delivery, D.COLLECTING, at=now, actor="citizen")
    return PickupGranted(delivery.id, compartment.label)


def _needs_second_factor(core: Core, delivery: Delivery) -> bool:
    required = delivery.document_type in core.settings.policy.second_factor_documents
    return required and delivery.date_of_birth is not None


def _locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many wrong attempts. Please try again in {minutes} {unit}."
