"""A citizen collects a document with a code (typed or scanned) and maybe a date of birth.

Order of checks, so that nothing leaks and nothing is wasted: the code's *form* first (not
counted: it tells nothing); then the kiosk's back-off; then the code by its keyed hash; then
the delivery's own lockout, expiry and second factor. Every wrong code or wrong date of birth
counts against the kiosk (a wrong date of birth also against the delivery). A spent or
replaced code is answered as what it is (``code_used``, ``code_revoked``) and not counted: it
is no guess, and counting it locked out the citizen who tapped twice.

A wrong code gets the same answer whatever made it wrong; a wrong date of birth after a right
code is said as such, with the tries left before the delivery locks (the citizen who holds the
code must know that it is the date, not the code, and ``security.delivery_max_failures``
bounds guessing the date).

``verify_only`` checks everything and opens nothing: the kiosk asks for the receipt
confirmation only once the date of birth is known to be right.

Why there is no locker-wide budget any more: it let one person keep every citizen out for
an hour. Pickups come only from the kiosks (kiosk.kiosks), so the per-kiosk back-off, capped
at five minutes, bounds guessing on its own (docs/security.md has the arithmetic).
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
    CodeRevoked,
    CodeUsed,
    DateOfBirthWrong,
    DomainError,
    HardwareFault,
    RateLimited,
    SecondFactorRequired,
    WrongLocker,
)
from locker.models import Compartment, Delivery, PickupCode
from locker.recipients import birth_date_asked
from locker.services.intents import begin_intent, pulse
from locker.states import move_delivery
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D

WRONG = "This code is not valid here. Please check it and try again."
EXPIRED = (
    "The pickup time for this document has ended. It is going back to the citizens' office;"
    " please contact them to collect it there."
)
USED = (
    "This code has been used already. If your compartment did not open, please call the"
    " citizens' office."
)
REVOKED = (
    "This code is no longer valid: a newer message replaced it, or the delivery was withdrawn."
    " Please use the code from your latest message."
)


class AlreadyOpening(DomainError):
    code = "already_open"


@dataclass(frozen=True)
class PickupGranted:
    delivery_id: str
    compartment: str


def pickup(core: Core, text: str, *, date_of_birth: date | None, kiosk: str) -> PickupGranted:
    """Check the code and open the compartment; raise a :class:`DomainError` otherwise."""
    granted = _decide(core, text, date_of_birth, kiosk, verify_only=False)
    assert granted is not None
    core.publish(DomainEvent("delivery_collecting", granted.delivery_id, granted.compartment))
    core.publish(*pulse(core, granted.compartment, actor="citizen"))
    return granted


def verify(core: Core, text: str, *, date_of_birth: date | None, kiosk: str) -> None:
    """Check code and date of birth as :func:`pickup` does (counting failures alike), open
    nothing; returns when both are right."""
    _decide(core, text, date_of_birth, kiosk, verify_only=True)


def _decide(
    core: Core, text: str, date_of_birth: date | None, kiosk: str, *, verify_only: bool
) -> PickupGranted | None:
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
        outcome = _authorise(
            core,
            session,
            digest,
            date_of_birth,
            f"kiosk:{kiosk}",
            now,
            verify_only,
            legacy=scanned.legacy,
        )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def _authorise(
    core: Core,
    session: Session,
    digest: str,
    date_of_birth: date | None,
    kiosk_key: str,
    now: datetime,
    verify_only: bool = False,
    *,
    legacy: bool = False,
) -> PickupGranted | DomainError | None:
    """Decide inside one transaction; failures are *returned* so that their counts commit.

    ``legacy``: the code was typed or scanned in the form issued before version 2; it opens
    only a code flagged legacy (else it is a wrong code like any other, counted alike)."""
    security = core.settings.security
    kiosk_rule = throttle.Backoff(
        security.kiosk_max_failures, security.kiosk_lockout_base_s, security.kiosk_lockout_max_s
    )
    wait = throttle.seconds_locked(session, kiosk_key, now)
    if wait:
        return RateLimited(_locked_message(wait), wait)

    def wrong(why: str, delivery: Delivery | None = None) -> DomainError:
        locked = throttle.fail(session, kiosk_key, kiosk_rule, now)
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
    if legacy and not row.legacy:
        return wrong("old-form code for a code issued after the upgrade")
    delivery = session.get(Delivery, row.delivery_id)
    assert delivery is not None
    if row.used_at is None and delivery.expired_at is not None:
        return CodeExpired(EXPIRED)
    if row.used_at is not None:
        return CodeUsed(USED)
    if row.revoked_at is not None:
        return CodeRevoked(REVOKED)
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
            delivery_locked = throttle.fail(session, delivery_key, rule, now)
            refused = wrong("second factor", delivery)
            if isinstance(refused, RateLimited):
                return refused
            if delivery_locked:
                return RateLimited(_locked_message(delivery_locked), delivery_locked)
            tries_left = rule.max_failures - throttle.failures_in_a_row(session, delivery_key)
            return DateOfBirthWrong("The date of birth does not match.", tries_left)
    compartment = session.get(Compartment, delivery.compartment)
    assert compartment is not None
    if compartment.state != C.OCCUPIED:
        return HardwareFault(
            f"Compartment {compartment.label} cannot be opened right now. Please call the"
            " citizens' office; your code stays valid."
        )
    throttle.succeed(session, kiosk_key)
    throttle.succeed(session, delivery_key)
    if verify_only:
        return None
    begin_intent(session, compartment, C.OPENING, at=now, actor="citizen", why="pickup")
    move_delivery(session, delivery, D.COLLECTING, at=now, actor="citizen")
    return PickupGranted(delivery.id, compartment.label)


def _needs_second_factor(core: Core, delivery: Delivery) -> bool:
    return birth_date_asked(core.settings.policy.second_factor_documents, delivery)


def _locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many wrong attempts. Please try again in {minutes} {unit}."
