"""The notification outbox: writing messages to the citizen, and every step of draining them.

The core decides *that* a citizen is told something and to which contacts; ``notify/``
decides *how* (templates, channels, back-off) and drives the drain through the functions
below, which are the only code besides housekeeping's erasure of personal data that changes
:class:`~locker.models.Notification` rows (the kiosk reads them for display). One row per
contact channel.

* **Write** (:func:`enqueue`, in the caller's transaction): the pickup code is sealed into the
  row, and the core's :class:`~locker.ports.Outbox` is woken once the transaction commits.
* **Claim** (:func:`claim_due`, one transaction): due rows — ``pending``, ``failed`` whose
  back-off is over, or ``sending`` whose lease ran out — become ``sending`` with one more
  attempt. SQLite begins every transaction ``IMMEDIATE``, PostgreSQL gets ``FOR UPDATE SKIP
  LOCKED``: two workers (threads or processes) never claim the same row. A stored or reminder
  message whose delivery no longer waits in the locker is marked ``obsolete`` (drop it).
* **Finish** (one transaction each): :func:`record_sent` (code wiped), :func:`record_retry`,
  or :func:`record_dead` (code wiped, audit alert, ``notification.dead`` outbound event, an
  ``alarm`` domain event; without the alert when ``dropped`` as obsolete). Each applies only
  while the row is still the claim it is given (same attempt), so a worker whose lease ran
  out changes nothing.
* **Reports** from the gateway after sending: :func:`apply_provider_report`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from locker import audit, event_outbox, sealing
from locker.core import Core, DomainEvent
from locker.db import after_commit, is_sqlite, reading, transaction
from locker.models import Delivery, Notification
from locker.recipients import birth_date_asked
from locker.vocabulary import AlarmKind, Channel, DeliveryState, MessageKind
from locker.vocabulary import NotificationState as N

log = logging.getLogger(__name__)
WAITING_KINDS = (MessageKind.STORED, MessageKind.REMINDER)
"""Messages that make sense only while the document waits in the locker."""
BACKLOG_STATES = (N.PENDING, N.FAILED)
ReportOutcome = Literal["delivered", "undelivered"] | None
"""What a gateway's delivery report says: arrived, will never arrive, or nothing final yet."""


@dataclass(frozen=True)
class Claim:
    """A row as it was when a worker claimed it: what is needed to send it."""

    id: int
    attempt: int
    delivery_id: str | None
    channel: Channel
    kind: MessageKind
    recipient: str
    locale: str
    sealed: str | None
    context: dict[str, Any]
    created_at: datetime
    obsolete: bool = False
    """A code or reminder for a delivery no longer waiting in the locker: drop, do not send."""


def contacts(delivery: Delivery) -> list[tuple[Channel, str]]:
    found: list[tuple[Channel, str]] = []
    if delivery.recipient_phone:
        found.append((Channel.SMS, delivery.recipient_phone))
    if delivery.recipient_email:
        found.append((Channel.EMAIL, delivery.recipient_email))
    return found


def enqueue(
    core: Core,
    session: Session,
    delivery: Delivery,
    kind: MessageKind,
    *,
    at: datetime,
    secrets: dict[str, Any] | None = None,
    **context: str | int | None,
) -> list[Notification]:
    """Queue ``kind`` for every contact of ``delivery``; ``secrets`` are sealed, not stored.

    Once the caller's transaction commits, ``core.outbox`` is woken (never if it rolls back).
    Every row's context says whether the kiosk will ask for the date of birth.
    """
    asked = birth_date_asked(core.settings.policy.second_factor_documents, delivery)
    context = {"birth_date_asked": asked, **context}
    rows = []
    for channel, address in contacts(delivery):
        row = Notification(
            delivery_id=delivery.id,
            channel=channel,
            kind=kind,
            recipient=address,
            locale=delivery.recipient_locale,
            sealed=sealing.seal(core.seal_key, secrets, delivery.id) if secrets else None,
            context=dict(context),
            created_at=at,
            next_attempt_at=at,
        )
        rows.append(_queued(core, session, row))
    return rows


def enqueue_staff(
    core: Core,
    session: Session,
    to: list[tuple[Channel, str]],
    kind: MessageKind,
    *,
    at: datetime,
    locale: str,
    **context: str | int | None,
) -> list[Notification]:
    """Queue ``kind`` to staff contacts (the on-call alert): no delivery, no secrets."""
    return [
        _queued(
            core,
            session,
            Notification(
                channel=channel,
                kind=kind,
                recipient=address,
                locale=locale,
                context=dict(context),
                created_at=at,
                next_attempt_at=at,
            ),
        )
        for channel, address in to
    ]


def _queued(core: Core, session: Session, row: Notification) -> Notification:
    session.add(row)
    after_commit(session, core.outbox.wake)
    return row


# -- draining ---------------------------------------------------------------------------------


def _due(channels: list[Channel], now: datetime, lease: timedelta) -> Any:
    return and_(
        col(Notification.channel).in_(channels),
        or_(
            and_(
                col(Notification.state).in_(BACKLOG_STATES),
                col(Notification.next_attempt_at) <= now,
            ),
            and_(col(Notification.state) == N.SENDING, col(Notification.claimed_at) <= now - lease),
        ),
    )


def claim_due(core: Core, channels: list[Channel], *, limit: int) -> list[Claim]:
    """Take up to ``limit`` due rows of ``channels`` for the calling worker."""
    if not channels:
        return []
    now = core.clock.now()
    lease = timedelta(seconds=core.settings.notify.lease_s)
    query = (
        select(Notification)
        .where(_due(channels, now, lease))
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(limit)
    )
    if not is_sqlite(core.engine):
        query = query.with_for_update(skip_locked=True)
    claims: list[Claim] = []
    with transaction(core.engine) as session:
        for row in session.exec(query).all():
            if row.state == N.SENDING:
                log.warning("notification %s: lease ran out, sending it again", row.id)
            row.state = N.SENDING
            row.claimed_at = now
            row.attempts += 1
            session.add(row)
            claims.append(_claim(session, row))
    return claims


def _claim(session: Session, row: Notification) -> Claim:
    assert row.id is not None and row.created_at is not None
    obsolete = False
    if row.kind in WAITING_KINDS and row.delivery_id is not None:
        delivery = session.get(Delivery, row.delivery_id)
        obsolete = delivery is None or delivery.state != DeliveryState.STORED
    return Claim(
        id=row.id,
        attempt=row.attempts,
        delivery_id=row.delivery_id,
        channel=Channel(row.channel),
        kind=MessageKind(row.kind),
        recipient=row.recipient or "",
        locale=row.locale,
        sealed=row.sealed,
        context=dict(row.context),
        created_at=row.created_at,
        obsolete=obsolete,
    )


def next_due(core: Core, channels: list[Channel]) -> datetime | None:
    """When the next row of ``channels`` not yet final becomes due (now or later), if any."""
    if not channels:
        return None
    lease = timedelta(seconds=core.settings.notify.lease_s)
    of_channels = col(Notification.channel).in_(channels)
    with reading(core.engine) as session:
        waiting = session.exec(
            select(func.min(Notification.next_attempt_at)).where(
                of_channels, col(Notification.state).in_(BACKLOG_STATES)
            )
        ).one()
        claimed = session.exec(
            select(func.min(Notification.claimed_at)).where(
                of_channels, col(Notification.state) == N.SENDING
            )
        ).one()
    moments = [m for m in (waiting, claimed + lease if claimed else None) if m is not None]
    return min(moments, default=None)


def backlog(core: Core) -> int:
    """Messages waiting to go out (pending, or failed and waiting for a retry)."""
    with reading(core.engine) as session:
        count = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.state).in_(BACKLOG_STATES))
        ).one()
    return int(count)


def record_sent(core: Core, claim: Claim, *, provider_id: str) -> bool:
    """The gateway accepted the message: ``sent``, the code wiped. ``False``: claimed anew.

    Published as ``notification_sent`` (channel and message kind, nothing personal), so a
    clerk's screen, or a drill, learns that the backlog shrank without asking again."""
    now = core.clock.now()

    def sent(_session: Session, row: Notification) -> DomainEvent:
        row.state = N.SENT
        row.sent_at = now
        row.provider_id = provider_id
        row.sealed = None
        row.last_error = None
        data = {"channel": str(row.channel), "message": str(row.kind)}
        return DomainEvent("notification_sent", row.delivery_id, None, data)

    return _finish(core, claim, sent)


def record_retry(core: Core, claim: Claim, *, reason: str, next_attempt_at: datetime) -> bool:
    """A transient failure: ``failed`` until ``next_attempt_at``. ``False``: claimed anew."""

    def failed(_session: Session, row: Notification) -> None:
        row.state = N.FAILED
        row.last_error = reason
        row.next_attempt_at = next_attempt_at

    return _finish(core, claim, failed)


def record_dead(
    core: Core, claim: Claim, *, reason: str, actor: str, dropped: bool = False
) -> bool:
    """Given up: ``dead``, code wiped, an alert for the clerks. ``False``: claimed anew.

    ``dropped``: not sent because it would only confuse (obsolete), so no alert.
    """
    now = core.clock.now()
    kind = "notification_dropped" if dropped else "notification_dead"

    def dead(session: Session, row: Notification) -> DomainEvent | None:
        return _die(
            core,
            session,
            row,
            now,
            kind=kind,
            actor=actor,
            last_error=reason,
            alert=not dropped,
            attempts=row.attempts,
            reason=reason,
        )

    return _finish(core, claim, dead)


def apply_provider_report(
    core: Core,
    provider_id: str,
    outcome: ReportOutcome,
    *,
    actor: str,
    reason: str = "",
    error_code: str = "",
) -> bool:
    """A gateway's report on a message it accepted; ``False`` if no row has ``provider_id``.

    Reports move a row forward only: ``delivered`` takes ``sent`` to ``delivered``;
    ``undelivered`` takes ``sent`` or ``delivered`` to ``dead`` with an alert (the code was
    wiped when the message was accepted, so it cannot be resent); ``None`` changes nothing.
    ``reason`` becomes the row's last error, ``error_code`` goes into the audit event.
    """
    alarm: DomainEvent | None = None
    with transaction(core.engine) as session:
        row = session.exec(
            select(Notification).where(col(Notification.provider_id) == provider_id)
        ).first()
        if not provider_id or row is None:
            return False
        if outcome == "delivered" and row.state == N.SENT:
            row.state = N.DELIVERED
            session.add(row)
        elif outcome == "undelivered" and row.state in (N.SENT, N.DELIVERED):
            alarm = _die(
                core,
                session,
                row,
                core.clock.now(),
                kind="notification_undelivered",
                actor=actor,
                last_error=reason or "undelivered",
                alert=True,
                error_code=error_code,
            )
    if alarm is not None:
        core.publish(alarm)
    return True


def _finish(
    core: Core, claim: Claim, apply: Callable[[Session, Notification], DomainEvent | None]
) -> bool:
    """Apply one outcome in its own transaction, if the row is still this claim."""
    with transaction(core.engine) as session:
        row = session.get(Notification, claim.id)
        if row is None or row.state != N.SENDING or row.attempts != claim.attempt:
            log.warning("notification %s was claimed again meanwhile; leaving it", claim.id)
            return False
        row.claimed_at = None
        alarm = apply(session, row)
        session.add(row)
    if alarm is not None:
        core.publish(alarm)
    return True


def _die(
    core: Core,
    session: Session,
    row: Notification,
    at: datetime,
    *,
    kind: str,
    actor: str,
    last_error: str,
    alert: bool,
    **detail: Any,
) -> DomainEvent | None:
    """``dead``: code wiped, one audit event; if it was never delivered, the alert for the
    clerks (a ``notification.dead`` outbound event, and the ``alarm`` to publish)."""
    row.state = N.DEAD
    row.sealed = None
    row.last_error = last_error
    session.add(row)
    channel, message = str(row.channel), str(row.kind)
    audit.record(
        session,
        at=at,
        kind=kind,
        actor=actor,
        delivery_id=row.delivery_id,
        alert=alert,
        channel=channel,
        message=message,
        **detail,
    )
    if not alert:
        return None
    if row.delivery_id is None:  # a staff alert: its failure is in the audit log, no new alarm
        return None
    from locker import alarms  # noqa: PLC0415 - alarms queue their alerts through this module

    alarms.raise_alarm(
        core,
        session,
        AlarmKind.MESSAGE_DEAD,
        at=at,
        delivery_id=row.delivery_id,
        reason=f"{channel} {message}: {last_error}"[:200],
    )
    delivery = session.get(Delivery, row.delivery_id) if row.delivery_id else None
    facts = event_outbox.delivery_facts(delivery) if delivery is not None else {}
    event_outbox.record(
        session,
        "notification.dead",
        at=at,
        delivery_id=row.delivery_id,
        data={**facts, "channel": channel, "message": message},
    )
    return DomainEvent(
        "alarm", row.delivery_id, None, {"why": "notification_dead", "channel": channel}
    )
