"""A clerk loads a document: allocate the compartment, open it; storing follows the door."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from locker import alarms, audit
from locker.core import Core, DomainEvent
from locker.db import reading, transaction
from locker.errors import (
    AuthenticationFailed,
    HardwareFault,
    HardwareUnavailable,
    IllegalTransition,
    InvalidInput,
    NoCompartmentFree,
    PermissionDenied,
    SecondPersonRequired,
)
from locker.models import Compartment, Delivery
from locker.reach import Reach, reach_key
from locker.services import accounts
from locker.services.intents import attach, begin_intent, pulse
from locker.services.lookup import delivery_by_id
from locker.states import move_delivery
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D
from locker.vocabulary import Role, Size


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


@dataclass(frozen=True)
class Skipped:
    """A compartment that was tried and did not open, and why (``offline`` or ``jam``)."""

    label: str
    reason: str


@dataclass(frozen=True)
class Loading:
    """Where a document goes, and what the clerk is told about the choice."""

    compartment: str
    size: Size
    requested_size: Size
    skipped: tuple[Skipped, ...] = ()
    unusable: dict[str, int] = field(default_factory=dict)
    """When a larger size was used: compartments of the requested size by why they could not
    be used (``occupied``, ``offline``, ``fault``, ``out_of_service``)."""


TRIES = 3
"""Compartments tried for one loading before the clerk is asked to try again later."""


def usable(session: Session, skip: Collection[str] = ()) -> list[Compartment]:
    """Free compartments that can open: not on an offline board, not in fault or out of
    service (those are not ``free``), not already tried in this loading."""
    rows = session.exec(
        select(Compartment).where(
            col(Compartment.state) == C.FREE,
            col(Compartment.offline) == False,
        )
    )
    return [c for c in rows if c.label not in skip]


def allocate(
    session: Session, delivery: Delivery, reach: Reach, skip: Collection[str] = ()
) -> Compartment:
    chosen = choose_compartment(
        usable(session, skip), Size(delivery.size), accessible=delivery.accessible, reach=reach
    )
    if chosen is None:
        raise NoCompartmentFree(
            f"No free compartment of size {delivery.size} or larger is left in this locker."
        )
    return chosen


def unusable_of_size(session: Session, size: Size, skip: Collection[str] = ()) -> dict[str, int]:
    """Compartments of ``size`` by why they cannot take a document now."""
    counts: dict[str, int] = {}
    for row in session.exec(select(Compartment).where(col(Compartment.size) == size)):
        if row.label in skip or (row.state == C.FREE and row.offline):
            why = "offline"
        elif row.state in (C.FAULT, C.OUT_OF_SERVICE):
            why = str(row.state)
        elif row.state != C.FREE:
            why = "occupied"
        else:
            continue
        counts[why] = counts.get(why, 0) + 1
    return counts


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
    return load(core, delivery_id, actor=actor).compartment


def load(core: Core, delivery_id: str, *, actor: str) -> Loading:
    """Allocate and open a compartment for an announced delivery.

    A compartment whose lock does not answer or does not open is left behind (its board is
    offline, or it goes to ``fault``) and the next one is tried, up to :data:`TRIES`; the
    answer says which were skipped and, when a larger size was used, why.
    """
    skipped: list[Skipped] = []
    while True:
        now = core.clock.now()
        with transaction(core.engine) as session:
            delivery = delivery_by_id(session, delivery_id)
            if delivery.state != D.ANNOUNCED:
                raise IllegalTransition(
                    f"Delivery {delivery.reference} is {delivery.state}, not waiting to be loaded."
                )
            tried = [s.label for s in skipped]
            reach = reach_of(core)
            compartment = allocate(session, delivery, reach, tried)
            wanted, size = Size(delivery.size), Size(compartment.size)
            unusable = unusable_of_size(session, wanted, tried) if size != wanted else {}
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
            delivery.loaded_by = actor
            delivery.witnessed_by = None
            move_delivery(session, delivery, D.LOADING, at=now, actor=actor)
            alarms.check_capacity(core, session, at=now)
            label = compartment.label
        core.publish(DomainEvent("delivery_loading", delivery_id, label))
        try:
            core.publish(*pulse(core, label, actor=actor))
        except (HardwareUnavailable, HardwareFault) as error:
            reason = "jam" if isinstance(error, HardwareFault) else "offline"
            skipped.append(Skipped(label, reason))
            if len(skipped) >= TRIES or not _back_to_announced(core, delivery_id):
                raise
            continue
        return Loading(label, size, wanted, tuple(skipped), unusable)


def _back_to_announced(core: Core, delivery_id: str) -> bool:
    """The failed opening was undone (not uncertain), so another compartment may be tried."""
    with reading(core.engine) as session:
        return delivery_by_id(session, delivery_id).state == D.ANNOUNCED


def confirm(core: Core, delivery_id: str, *, username: str, password: str, actor: str) -> str:
    """Four-eyes loading: a second staff member confirms, with their own password, the document
    going into the open compartment; return who confirmed. Both are in the audit log.

    The second person must be another account with the clerk role, and the door must be open
    (they see what goes in); a wrong password counts against their account like a sign-in.
    """
    try:
        second = accounts.sign_in(core, username.strip(), password)
    except AuthenticationFailed:
        raise InvalidInput(
            "password", "the second person's user name or password is not right"
        ) from None
    if Role.CLERK not in second.roles:
        raise PermissionDenied("The second person needs the clerk role.")
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        if delivery.state != D.LOADING or delivery.compartment is None:
            raise IllegalTransition(f"Delivery {delivery.reference} is not being loaded.")
        if second.name in (delivery.loaded_by, actor):
            raise SecondPersonRequired(
                "The loading is confirmed by someone other than the one who loads."
            )
        compartment = session.get(Compartment, delivery.compartment)
        if compartment is None or not compartment.door_open:
            raise IllegalTransition(
                f"Compartment {delivery.compartment} is closed: open it again, then confirm."
            )
        delivery.witnessed_by = second.name
        session.add(delivery)
        audit.record(
            session,
            at=now,
            kind="loading_confirmed",
            actor=second.name,
            delivery_id=delivery.id,
            compartment=delivery.compartment,
            loaded_by=delivery.loaded_by,
        )
    core.publish(DomainEvent("loading_confirmed", delivery_id, delivery.compartment))
    return second.name


def reopen(core: Core, delivery_id: str, *, actor: str) -> str:
    """Open again the compartment of a loading whose door was closed before it was confirmed,
    so that the second person can check; return its label. If the lock does not open, the
    document stays where it is (the intent is not undone)."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        compartment = session.get(Compartment, delivery.compartment or "")
        if delivery.state != D.LOADING or compartment is None or compartment.state != C.RESERVED:
            raise IllegalTransition(f"Delivery {delivery.reference} is not waiting to be checked.")
        if compartment.door_open:
            raise IllegalTransition(f"Compartment {compartment.label} is open already.")
        audit.record(
            session,
            at=now,
            kind="loading_reopened",
            actor=actor,
            delivery_id=delivery.id,
            compartment=compartment.label,
        )
        label = compartment.label
    core.publish(*pulse(core, label, actor=actor, undo=False))
    return label
