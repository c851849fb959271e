"""Draining the outbox: claim due rows, send each once, record what happened.

One pass (:meth:`OutboxWorker.run_once`) is three steps, each its own short transaction or
none, so that no database lock is held while a gateway is slow:

1. **claim** (one transaction): due rows (``pending``, or ``failed`` whose back-off is over,
   or ``sending`` whose lease ran out) become ``sending`` with ``claimed_at`` = now and one
   more attempt. SQLite begins every transaction ``IMMEDIATE``, PostgreSQL gets
   ``FOR UPDATE SKIP LOCKED``: two workers (threads or processes) never claim the same row.
2. **send** (no transaction): unseal the code, render, hand to the channel.
3. **finish** (one transaction): ``sent`` (code wiped), or ``failed`` with the next attempt
   after exponential back-off with jitter, or ``dead`` (code wiped, audit event with an alert
   for the clerks) when the error is permanent or the caps on attempts or age are reached.
   A finish only applies if the row is still the one this worker claimed (same attempt).

**At-least-once.** A process that dies after claiming leaves its rows in ``sending``; once
the lease (``notify.lease_s``) has passed, any worker claims and sends them again. If it died
after the gateway accepted a message but before step 3 committed, that message goes out
twice. Nothing is ever lost; a rare duplicate is the price (the same code twice is harmless).

A stored or reminder message whose delivery is no longer waiting in the locker (collected,
cancelled, expired meanwhile) is dropped instead of sent: it would only confuse.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, Self

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from locker import audit, sealing
from locker.core import Core, DomainEvent
from locker.db import is_sqlite, transaction
from locker.models import Delivery, Notification
from locker.vocabulary import Channel, DeliveryState, MessageKind, NotificationState
from notify.errors import PermanentFailure, SendFailed, TransientFailure
from notify.messages import Rendered, facts_from, render

log = logging.getLogger(__name__)
ACTOR = "notify"
N = NotificationState
WAITING_KINDS = (MessageKind.STORED, MessageKind.REMINDER)


class Sender(Protocol):
    """A channel: sends one rendered message, returns the provider's id for it."""

    def send(self, recipient: str, message: Rendered, *, now: datetime) -> str:
        """Raise :class:`~notify.errors.SendFailed` if the message did not go out."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Claim:
    """A row as it was when this worker claimed it: what is needed to send it."""

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


@dataclass
class PassReport:
    """What one :meth:`OutboxWorker.run_once` did, by row id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.dead) + len(self.dropped)


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay after failed attempt number ``attempt`` (from 1): exponential, capped, jittered.

    "Equal jitter": half the exponential step is fixed, half random, so a burst of failures
    spreads out but a retry never comes sooner than half the planned delay.
    """
    step = min(cap, base * 2.0 ** (attempt - 1))
    return step / 2 + rng.random() * step / 2


class OutboxWorker:
    """Sends due outbox rows through ``senders`` (one per channel it may drain)."""

    def __init__(
        self,
        core: Core,
        senders: Mapping[Channel, Sender],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.core = core
        self.senders = dict(senders)
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()

    # -- the three steps ------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[Claim]:
        """Take up to ``limit`` due rows for this worker (step 1)."""
        if not self.senders:
            return []
        cfg = self.core.settings.notify
        now = self.core.clock.now()
        stale = now - timedelta(seconds=cfg.lease_s)
        query = (
            select(Notification)
            .where(
                col(Notification.channel).in_(list(self.senders)),
                or_(
                    and_(
                        col(Notification.state).in_([N.PENDING, N.FAILED]),
                        col(Notification.next_attempt_at) <= now,
                    ),
                    and_(
                        col(Notification.state) == N.SENDING,
                        col(Notification.claimed_at) <= stale,
                    ),
                ),
            )
            .order_by(col(Notification.next_attempt_at), col(Notification.id))
            .limit(limit or cfg.batch_size)
        )
        if not is_sqlite(self.core.engine):
            query = query.with_for_update(skip_locked=True)
        claims: list[Claim] = []
        with transaction(self.core.engine) as session:
            for row in session.exec(query).all():
                if row.state == N.SENDING:
                    log.warning("notification %s: lease ran out, sending it again", row.id)
                row.state = N.SENDING
                row.claimed_at = now
                row.attempts += 1
                session.add(row)
                assert row.id is not None and row.created_at is not None
                obsolete = False
                if row.kind in WAITING_KINDS and row.delivery_id is not None:
                    delivery = session.get(Delivery, row.delivery_id)
                    obsolete = delivery is None or delivery.state != DeliveryState.STORED
                claims.append(
                    Claim(
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
                )
        return claims

    def deliver(self, claim: Claim, report: PassReport | None = None) -> PassReport:
        """Send one claimed row and record the outcome (steps 2 and 3)."""
        report = report if report is not None else PassReport()
        if claim.obsolete:
            self._finish(claim, report, dropped=True)
            return report
        try:
            message = self._render(claim)
            provider_id = self.senders[claim.channel].send(
                claim.recipient, message, now=self.core.clock.now()
            )
        except SendFailed as failure:
            self._finish(claim, report, failure=failure)
        except Exception as error:  # a bug in a channel must not stop the outbox
            log.exception("notification %s: unexpected error while sending", claim.id)
            self._finish(claim, report, failure=TransientFailure(type(error).__name__))
        else:
            self._finish(claim, report, provider_id=provider_id)
        return report

    def run_once(self, limit: int | None = None) -> PassReport:
        """Claim due rows and send each: one pass, for tests and for the runner's loop."""
        report = PassReport()
        for claim in self.claim(limit):
            self.deliver(claim, report)
        return report

    def close(self) -> None:
        for sender in self.senders.values():
            sender.close()

    # -- helpers ----------------------------------------------------------------------------

    def _render(self, claim: Claim) -> Rendered:
        try:
            secrets = None
            if claim.sealed:
                assert claim.delivery_id is not None
                secrets = sealing.unseal(self.core.seal_key, claim.sealed, claim.delivery_id)
            if claim.kind == MessageKind.STORED and not (secrets or {}).get("code"):
                raise ValueError("a stored message without its sealed code")
            return render(
                facts_from(
                    self.core.settings,
                    kind=claim.kind,
                    locale=claim.locale,
                    context=claim.context,
                    created_at=claim.created_at,
                    secrets=secrets,
                )
            )
        except Exception as error:
            raise PermanentFailure(f"cannot compose: {type(error).__name__}") from error

    def _finish(
        self,
        claim: Claim,
        report: PassReport,
        *,
        provider_id: str | None = None,
        failure: SendFailed | None = None,
        dropped: bool = False,
    ) -> None:
        cfg = self.core.settings.notify
        now = self.core.clock.now()
        alarm: DomainEvent | None = None
        with transaction(self.core.engine) as session:
            row = session.get(Notification, claim.id)
            if row is None or row.state != N.SENDING or row.attempts != claim.attempt:
                log.warning("notification %s was claimed again meanwhile; leaving it", claim.id)
                return
            row.claimed_at = None
            if dropped:
                self._end(session, row, now, reason="obsolete: delivery no longer waiting")
                report.dropped.append(claim.id)
            elif failure is None:
                row.state = N.SENT
                row.sent_at = now
                row.provider_id = provider_id
                row.sealed = None
                row.last_error = None
                report.sent.append(claim.id)
            elif failure.permanent or self._exhausted(row, now):
                why = failure.reason if failure.permanent else f"gave up: {failure.reason}"
                alarm = self._end(session, row, now, reason=why, alert=True)
                report.dead.append(claim.id)
            else:
                with self._rng_lock:
                    delay = backoff_seconds(
                        row.attempts, cfg.backoff_base_s, cfg.backoff_max_s, self._rng
                    )
                row.state = N.FAILED
                row.last_error = failure.reason
                row.next_attempt_at = now + timedelta(seconds=delay)
                report.retrying.append(claim.id)
            session.add(row)
        if alarm is not None:
            self.core.publish(alarm)

    def _exhausted(self, row: Notification, now: datetime) -> bool:
        cfg = self.core.settings.notify
        assert row.created_at is not None
        too_old = now - row.created_at >= timedelta(hours=cfg.max_age_hours)
        return row.attempts >= cfg.max_attempts or too_old

    def _end(
        self,
        session: Session,
        row: Notification,
        now: datetime,
        *,
        reason: str,
        alert: bool = False,
    ) -> DomainEvent | None:
        """``dead``: code wiped, one audit event; an alert for the clerks if it was not sent."""
        row.state = N.DEAD
        row.sealed = None
        row.last_error = reason
        audit.record(
            session,
            at=now,
            kind="notification_dead" if alert else "notification_dropped",
            actor=ACTOR,
            delivery_id=row.delivery_id,
            alert=alert,
            channel=str(row.channel),
            message=str(row.kind),
            attempts=row.attempts,
            reason=reason,
        )
        if not alert:
            return None
        return DomainEvent(
            "alarm", row.delivery_id, None, {"why": "notification_dead", "channel": row.channel}
        )


class OutboxRunner:
    """Runs a worker in background threads until :meth:`close`.

    Each thread loops: one pass; if nothing was due, wait up to ``notify.poll_interval_s`` or
    until woken. Every domain event of the core wakes it (a door closing on a document sends
    the SMS at once, not at the next poll).
    """

    def __init__(self, worker: OutboxWorker, *, threads: int | None = None) -> None:
        self.worker = worker
        self._settings = worker.core.settings.notify
        self._count = threads or self._settings.threads
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unlisten: Any = None
        self._closed = False

    def start(self) -> Self:
        if self._threads:
            return self
        self._unlisten = self.worker.core.listen(lambda _event: self._wake.set())
        for number in range(self._count):
            thread = threading.Thread(target=self._loop, name=f"outbox-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a wake-up during it is not lost
            try:
                claimed = self.worker.run_once().claimed
            except Exception:  # the database may be busy or gone for a moment
                log.exception("outbox pass failed")
                claimed = 0
            if claimed == 0:
                self._wake.wait(self._settings.poll_interval_s)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the threads after their current message; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._unlisten is not None:
            self._unlisten()
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self.worker.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
