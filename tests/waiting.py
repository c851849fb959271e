"""The one way tests wait: on a real event, never on a clock.

:class:`Changes` is told of every change (a core's domain events, the simulated world's doors
and messages, a server stream's lines, a receiver's requests) and re-checks a condition each
time one arrives. It never re-checks because time passed: a condition that becomes true
without any change being reported fails the wait at its deadline, so a missing event is a
failing test instead of a test that passes by timing out. The deadline is only the bound after
which a test gives up; no test passes because of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
WAIT_S = 10.0
"""How long a test waits for an expected change before it fails; normally far less."""


class Changes:
    """A change counter to wait on: :meth:`notify` from any thread, :meth:`wait_for` in the test."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._generation = 0

    def __enter__(self) -> Changes:
        """Hold the lock (re-entrant) while changing what waiters read, then :meth:`notify`."""
        self._changed.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._changed.__exit__(*exc)

    def notify(self, *_what: Any) -> None:
        """Something changed (the arguments, an event or a label, are ignored)."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], T], timeout: float = WAIT_S, what: str = "") -> T:
        """The first truthy value of ``condition()``, checked now and after every change.

        ``condition`` runs outside the lock, so it may itself cause changes (an HTTP request to
        the app that publishes). A change that arrives while it runs wakes the next check.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen = self._generation
            value = condition()
            if value:
                return value
            if not self._wait_past(seen, deadline):
                raise AssertionError(
                    f"{what or 'the expected change'}: no change within {timeout} s made it true"
                )

    def _wait_past(self, seen: int, deadline: float) -> bool:
        """Whether a change after generation ``seen`` came before ``deadline``."""
        with self._changed:
            while self._generation == seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True


def wake_on_world(changes: Changes, core: Any, world: Any) -> None:
    """Wake ``changes`` on the core's domain events and the simulated world's doors, items and
    messages (a :class:`~simulator.world.SimulatedWorld` in this process)."""
    core.listen(changes.notify)
    world.hardware.physics.watch(changes.notify)
    world.inbox.watch(changes.notify)
