"""Draining the webhook outbox: fan out new events, claim due messages, send, record.

One pass (:meth:`WebhookDispatcher.run_once`) holds no database lock while a receiver is
slow: fan-out and claim are short transactions of :mod:`locker.webhooks`, the request is
made outside any, and each outcome is recorded in its own. A sender that dies between the
request and the record leaves the message ``sending``; once the lease has passed it is sent
again with the same ``webhook-id`` (at-least-once; receivers drop duplicates by that id).

**Two clocks.** Retries are scheduled on the core's clock (tests advance a manual one); the
``webhook-timestamp`` header is the *wall-clock* time of the attempt, because receivers check
it against their own clock to refuse replays (the reference verifier allows five minutes).

**Status codes** (spec, "Delivery success and failure"): 2xx sent; ``410 Gone`` disables the
endpoint; anything else, redirects included (they are not followed), timeouts and refused
connections are failures retried by the schedule, later if ``Retry-After`` asks for it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

import requests

from locker import event_outbox, webhooks
from locker.core import Core
from locker.passes import PassLoop, pause_until
from locker.webhooks import Claim, Outcome
from webhooks.signing import headers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """What one request came to."""

    status: int | None
    error: str = ""
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class PassReport:
    fanned_out: int = 0
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        return bool(self.fanned_out or self.outcomes)


class WebhookDispatcher:
    """Sends the webhook outbox from one background thread (or pass by pass in tests)."""

    def __init__(
        self,
        core: Core,
        *,
        http: requests.Session | None = None,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.core = core
        self.settings = core.settings.webhooks
        self._http = http or requests.Session()
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._loop = PassLoop(
            "webhooks",
            lambda: self.run_once().busy,
            self._idle_s,
            failure_pause_s=self.settings.poll_interval_s,
        )
        self._unwake: Callable[[], None] | None = None

    # -- one pass ---------------------------------------------------------------------------

    def run_once(self) -> PassReport:
        report = PassReport(webhooks.fan_out(self.core, limit=self.settings.batch_size))
        gone: set[str] = set()
        for claim in webhooks.claim_due(self.core, limit=self.settings.batch_size):
            if claim.endpoint_id in gone:
                continue  # its claim was voided when the endpoint said 410
            outcome = self.finish(claim, self.send(claim))
            report.outcomes[claim.id] = outcome
            if outcome == "gone":
                gone.add(claim.endpoint_id)
        return report

    def send(self, claim: Claim) -> Attempt:
        """Sign and POST one message; never raises for the receiver's faults."""
        stamp = int(self._wall_clock())
        try:
            response = self._http.post(
                claim.url,
                data=claim.body.encode(),
                headers=headers(claim.secrets, claim.webhook_id, stamp, claim.body),
                timeout=self.settings.timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            return Attempt(None, f"{type(err).__name__}: {err}"[:500])
        with response:
            status = response.status_code
            retry_after = _retry_after(response.headers.get("retry-after"))
        error = "" if 200 <= status < 300 else f"HTTP {status}"
        return Attempt(status, error, retry_after)

    def finish(self, claim: Claim, attempt: Attempt) -> Outcome:
        if attempt.ok:
            assert attempt.status is not None
            return webhooks.record_sent(self.core, claim, attempt.status)
        if attempt.status == 410:
            log.warning("webhook endpoint %s answered 410 Gone: disabled", claim.endpoint_id)
            return webhooks.record_gone(self.core, claim)
        return webhooks.record_failure(
            self.core,
            claim,
            status=attempt.status,
            error=attempt.error,
            retry_after_s=attempt.retry_after_s,
            rng=self._rng,
        )

    # -- in the background ------------------------------------------------------------------

    def start(self) -> Self:
        if self._unwake is None:
            self._unwake = event_outbox.wake_on_events(self.core, self.wake)
            self._loop.start()
        return self

    def wake(self) -> None:
        """Look now rather than at the next poll (never blocks)."""
        self._loop.wake()

    def _idle_s(self) -> float:
        """Until the next retry falls due, at most the poll interval (a safety net: new events
        wake the dispatcher at once)."""
        now = self.core.clock.now()
        return pause_until(webhooks.next_due(self.core), now, self.settings.poll_interval_s)

    def close(self) -> None:
        """Stop the thread (a request in flight finishes first); idempotent."""
        if self._unwake is not None:
            self._unwake()
            self._unwake = None
        self._loop.close(self.settings.timeout_s + 5)
        self._http.close()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (the delay form; a date is ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
