"""Jobs the controller runs every minute: expiry, reminders, door alarms, erasing personal data,
pruning outbound events every sink has passed, sent webhooks, old idempotency keys and ended
staff sessions.

Each is idempotent and uses only the clock, so a test (or the simulator's virtual clock)
advances time and calls :func:`run_due` to see a week pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_
from sqlmodel import col, select

from locker import alarms, audit, event_outbox, idempotency, outbox, webhooks
from locker.core import Core, DomainEvent
from locker.db import flush_to_main_file, transaction
from locker.models import Compartment, Delivery, Notification
from locker.services import sessions
from locker.services.intents import revoke_codes
from locker.states import ENDED, move_delivery
from locker.vocabulary import AlarmKind, MessageKind, NotificationState
from locker.vocabulary import DeliveryState as D

ACTOR = "scheduler"
FINAL_NOTIFICATIONS = (NotificationState.SENT, NotificationState.DELIVERED, NotificationState.DEAD)


@dataclass
class HousekeepingReport:
    expired: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    door_alarms: list[str] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)
    pruned_events: int = 0
    pruned_webhooks: int = 0
    pruned_idempotency_keys: int = 0
    pruned_sessions: int = 0


def run_due(core: Core) -> HousekeepingReport:
    report = HousekeepingReport(
        expired=expire_due(core),
        reminded=remind_due(core),
        door_alarms=alarm_open_doors(core),
        erased=erase_due(core),
        pruned_events=event_outbox.prune(core),
        pruned_webhooks=webhooks.prune_sent(core),
        pruned_idempotency_keys=idempotency.prune(core),
        pruned_sessions=sessions.prune(core),
    )
    check_capacity(core)
    return report


def expire_due(core: Core) -> list[str]:
    now = core.clock.now()
    with transaction(core.engine) as session:
        due = list(
            session.exec(
                select(Delivery).where(
                    col(Delivery.state) == D.STORED,
                    col(Delivery.expires_at) <= now,
                )
            )
        )
        for delivery in due:
            move_delivery(session, delivery, D.EXPIRED, at=now, actor=ACTOR)
            revoke_codes(session, delivery, now)
            outbox.enqueue(
                core,
                session,
                delivery,
                MessageKind.EXPIRY,
                at=now,
                location=core.settings.locker.location,
            )
        expired = [d.id for d in due]
    core.publish(*(DomainEvent("delivery_expired", d) for d in expired))
    return expired


def remind_due(core: Core) -> list[str]:
    """Reminder 1 some days after storing, reminder 2 some days before expiry (if both fit)."""
    policy = core.settings.policy
    now = core.clock.now()
    first_after = timedelta(days=policy.reminder_after_days)
    before_end = timedelta(days=policy.reminder_before_expiry_days)
    reminded = []
    with transaction(core.engine) as session:
        stored = session.exec(select(Delivery).where(col(Delivery.state) == D.STORED))
        for delivery in stored:
            assert delivery.stored_at is not None and delivery.expires_at is not None
            moments = [
                m
                for m in (delivery.stored_at + first_after, delivery.expires_at - before_end)
                if delivery.stored_at < m < delivery.expires_at
            ]
            if policy.reminder_after_days == 0:
                moments = moments[1:]
            if policy.reminder_before_expiry_days == 0:
                moments = moments[:1]
            due = sum(1 for m in sorted(moments) if m <= now)
            if due > delivery.reminders_sent:
                delivery.reminders_sent = due
                session.add(delivery)
                outbox.enqueue(
                    core,
                    session,
                    delivery,
                    MessageKind.REMINDER,
                    at=now,
                    expires_at=delivery.expires_at.isoformat(),
                    location=core.settings.locker.location,
                )
                audit.record(
                    session,
                    at=now,
                    kind="reminder_queued",
                    actor=ACTOR,
                    delivery_id=delivery.id,
                    number=due,
                )
                reminded.append(delivery.id)
    return reminded


def alarm_open_doors(core: Core) -> list[str]:
    """A door open longer than the limit raises one alarm (until it closes again)."""
    now = core.clock.now()
    limit = timedelta(seconds=core.settings.hardware.door_open_alarm_s)
    with transaction(core.engine) as session:
        open_too_long = list(
            session.exec(
                select(Compartment).where(
                    col(Compartment.door_open) == True,
                    col(Compartment.door_alarmed) == False,
                    col(Compartment.door_opened_at) <= now - limit,
                )
            )
        )
        for compartment in open_too_long:
            compartment.door_alarmed = True
            session.add(compartment)
            alarms.raise_alarm(
                core, session, AlarmKind.DOOR_LEFT_OPEN, at=now, compartment=compartment.label
            )
            audit.record(
                session,
                at=now,
                kind="door_left_open",
                actor=ACTOR,
                alert=True,
                compartment=compartment.label,
                delivery_id=compartment.delivery_id,
            )
        labels = [c.label for c in open_too_long]
    core.publish(
        *(DomainEvent("alarm", None, label, {"why": "door_left_open"}) for label in labels)
    )
    return labels


def check_capacity(core: Core) -> None:
    """The capacity alarm follows the free compartments even when nothing else happens."""
    with transaction(core.engine) as session:
        alarms.check_capacity(core, session, at=core.clock.now())


def erase_due(core: Core) -> list[str]:
    """Erase recipient data of finished deliveries after the retention period.

    A notification still waiting to go out keeps its own address until it is sent or dead;
    the next run erases it then.
    """
    now = core.clock.now()
    cutoff = now - timedelta(days=core.settings.policy.retention_days)
    erased = []
    cleaned = False
    with transaction(core.engine) as session:
        finished = session.exec(
            select(Delivery).where(
                col(Delivery.erased_at) == None,
                col(Delivery.ended_at) <= cutoff,
                col(Delivery.compartment) == None,
                col(Delivery.state).in_(ENDED),
            )
        )
        for delivery in finished:
            delivery.recipient_name = delivery.recipient_phone = None
            delivery.recipient_email = None
            delivery.date_of_birth = None
            delivery.erased_at = now
            session.add(delivery)
            audit.record(
                session, at=now, kind="personal_data_erased", actor=ACTOR, delivery_id=delivery.id
            )
            erased.append(delivery.id)
        session.flush()
        leftovers = session.exec(
            select(Notification)
            .join(Delivery)
            .where(
                col(Delivery.erased_at) != None,
                col(Notification.state).in_(FINAL_NOTIFICATIONS),
                or_(col(Notification.recipient) != None, col(Notification.sealed) != None),
            )
        )
        for row in leftovers:
            row.recipient = None
            row.sealed = None
            session.add(row)
            cleaned = True
    if erased or cleaned:
        flush_to_main_file(core.engine)  # no copy of the erased values stays in the WAL
    return erased
