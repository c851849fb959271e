"""The loop that drains an outbox in the background: passes, woken by commits, idle until due.

The notification outbox (``notify.worker.OutboxRunner``) and the webhook outbox
(``webhooks.dispatcher.WebhookDispatcher``) are drained the same way, by this one loop: a pass
sends what is due; when it found nothing to do, the thread waits until the next row falls due
(a retry after its back-off, a lease running out) or until :meth:`PassLoop.wake`, which the
core calls after every commit that queued something. The cap on that wait (the sections'
``poll_interval_s``) is only a safety net, for rows written by another process or made due by
a jump of the clock. The loop lives in the core because both adapters import only the core.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)


def pause_until(due: datetime | None, now: datetime, poll_s: float, floor_s: float = 0.0) -> float:
    """Seconds to wait for a row due at ``due`` (``None``: nothing waits), between ``floor_s``
    and ``poll_s``."""
    if due is None:
        return poll_s
    return min(poll_s, max(floor_s, (due - now).total_seconds()))


class PassLoop:
    """``threads`` background threads, each running ``run_pass`` (True: it found work, go again
    at once) and otherwise waiting ``idle_pause()`` seconds or until :meth:`wake`."""

    def __init__(
        self,
        name: str,
        run_pass: Callable[[], bool],
        idle_pause: Callable[[], float],
        *,
        failure_pause_s: float,
        threads: int = 1,
    ) -> None:
        self.name = name
        self._run_pass = run_pass
        self._idle_pause = idle_pause
        self._failure_pause_s = failure_pause_s
        self._count = threads
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads or self._stop.is_set():
            return
        for number in range(self._count):
            suffix = f"-{number}" if self._count > 1 else ""
            thread = threading.Thread(target=self._loop, name=self.name + suffix, daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Something is due now: sets an event, never blocks."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a wake-up during it is not lost
            try:
                pause = 0.0 if self._run_pass() else self._idle_pause()
            except Exception:  # the database may be busy or gone for a moment
                log.exception("%s pass failed; trying again", self.name)
                pause = self._failure_pause_s
            if pause > 0:
                self._wake.wait(pause)

    def close(self, timeout: float) -> None:
        """Stop the threads after their current pass (waiting at most ``timeout`` for each)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
