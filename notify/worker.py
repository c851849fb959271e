"""Draining the notification outbox: claim due rows, send each once, record what happened.

The rows and their transactions belong to the core (:mod:`locker.outbox`); this module decides
how a message goes out and what a failure means. One pass (:meth:`OutboxWorker.run_once`) is
three steps, each its own short transaction or none, so that no database lock is held while a
gateway is slow:

1. **claim** (one transaction, :func:`locker.outbox.claim_due`): due rows (``pending``, or
   ``failed`` whose back-off is over, or ``sending`` whose lease ran out) become ``sending``
   with ``claimed_at`` = now and one more attempt. SQLite begins every transaction
   ``IMMEDIATE``, PostgreSQL gets ``FOR UPDATE SKIP LOCKED``: two workers (threads or
   processes) never claim the same row.
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

:class:`OutboxRunner` runs passes in background threads and is the core's
:class:`~locker.ports.Outbox`: the core wakes it after every commit that queued a message.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, Self

from locker import outbox, sealing
from locker.core import Core
from locker.outbox import Claim
from locker.passes import PassLoop, pause_until
from locker.vocabulary import Channel, MessageKind
from notify.errors import PermanentFailure, SendFailed, TransientFailure
from notify.messages import Rendered, facts_from, render

log = logging.getLogger(__name__)
ACTOR = "notify"
MIN_PAUSE_S = 0.05
"""Shortest wait of an idle runner thread, so that a row due "now" that another worker holds
cannot make it spin."""


class Sender(Protocol):
    """A channel: sends one rendered message, returns the provider's id for it."""

    def send(self, recipient: str, message: Rendered, *, now: datetime) -> str:
        """Raise :class:`~notify.errors.SendFailed` if the message did not go out."""
        ...

    def close(self) -> None: ...


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
        cfg = self.core.settings.notify
        return outbox.claim_due(self.core, list(self.senders), limit=limit or cfg.batch_size)

    def deliver(self, claim: Claim, report: PassReport | None = None) -> PassReport:
        """Send one claimed row and record the outcome (steps 2 and 3)."""
        report = report if report is not None else PassReport()
        if claim.obsolete:
            reason = "obsolete: delivery no longer waiting"
            if outbox.record_dead(self.core, claim, reason=reason, actor=ACTOR, dropped=True):
                report.dropped.append(claim.id)
            return report
        try:
            message = self._render(claim)
            provider_id = self.senders[claim.channel].send(
                claim.recipient, message, now=self.core.clock.now()
            )
        except SendFailed as failure:
            self._failed(claim, failure, report)
        except Exception as error:  # a bug in a channel must not stop the outbox
            log.exception("notification %s: unexpected error while sending", claim.id)
            self._failed(claim, TransientFailure(type(error).__name__), report)
        else:
            if outbox.record_sent(self.core, claim, provider_id=provider_id):
                report.sent.append(claim.id)
        return report

    def run_once(self, limit: int | None = None) -> PassReport:
        """Claim due rows and send each: one pass, for tests and for the runner's loop."""
        report = PassReport()
        for claim in self.claim(limit):
            self.deliver(claim, report)
        return report

    def next_due(self) -> datetime | None:
        """When the next row this worker may send becomes due, if any is waiting."""
        return outbox.next_due(self.core, list(self.senders))

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

    def _failed(self, claim: Claim, failure: SendFailed, report: PassReport) -> None:
        """Retry after the back-off, or give up: permanent, or the caps are reached."""
        now = self.core.clock.now()
        if failure.permanent or self._exhausted(claim, now):
            why = failure.reason if failure.permanent else f"gave up: {failure.reason}"
            if outbox.record_dead(self.core, claim, reason=why, actor=ACTOR):
                report.dead.append(claim.id)
            return
        cfg = self.core.settings.notify
        with self._rng_lock:
            delay = backoff_seconds(claim.attempt, cfg.backoff_base_s, cfg.backoff_max_s, self._rng)
        retry_at = now + timedelta(seconds=delay)
        if outbox.record_retry(self.core, claim, reason=failure.reason, next_attempt_at=retry_at):
            report.retrying.append(claim.id)

    def _exhausted(self, claim: Claim, now: datetime) -> bool:
        cfg = self.core.settings.notify
        too_old = now - claim.created_at >= timedelta(hours=cfg.max_age_hours)
        return claim.attempt >= cfg.max_attempts or too_old


class OutboxRunner:
    """Runs a worker in background threads until :meth:`close`; the core's ``Outbox`` port.

    Each thread loops: one pass; if nothing was due, wait until the next row falls due (a
    retry after its back-off, a lease running out), at most ``notify.poll_interval_s``, or
    until :meth:`wake`. The core wakes it after every commit that queued a message (a door
    closing on a document sends the SMS at once), so the poll is only a safety net for rows
    that became due by a jump of the clock or were written by another process. Wire it with
    ``core.outbox = runner``.
    """

    def __init__(self, worker: OutboxWorker, *, threads: int | None = None) -> None:
        self.worker = worker
        self._settings = worker.core.settings.notify
        self._loop = PassLoop(
            "outbox",
            lambda: bool(self.worker.run_once().claimed),
            self._idle_pause,
            failure_pause_s=self._settings.poll_interval_s,
            threads=threads or self._settings.threads,
        )
        self._closed = False

    def start(self) -> Self:
        self._loop.start()
        return self

    def wake(self) -> None:
        """Rows are due now (:class:`locker.ports.Outbox`): sets an event, never blocks."""
        self._loop.wake()

    def _idle_pause(self) -> float:
        """Seconds until the next row falls due, between MIN_PAUSE_S and the poll interval."""
        now = self.worker.core.clock.now()
        return pause_until(self.worker.next_due(), now, self._settings.poll_interval_s, MIN_PAUSE_S)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the threads after their current message; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._loop.close(timeout)
        self.worker.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
