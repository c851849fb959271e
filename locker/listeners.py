"""Callbacks that other threads add and remove while one thread calls them: the one registry.

The core's domain events (:meth:`locker.core.Core.listen`), a bank's hardware events
(``hardware.events.EventHub``), the commits that wrote outbound events
(:func:`locker.event_outbox.wake_on_events`), the centre's changes and the simulated world's
watchers all keep their subscribers here. Adding returns the function that removes the
callback again; calling works on a copy taken under the lock, so a callback may unsubscribe
itself, or subscribe another, while it runs. It imports nothing but the standard library, so
every package may use it (the fleet centre too).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
C = TypeVar("C", bound=Callable[..., None])


class Listeners(Generic[C]):
    """A thread-safe list of callbacks of one signature."""

    def __init__(self) -> None:
        self._callbacks: list[C] = []
        self._lock = threading.Lock()

    def add(self, callback: C) -> Callable[[], None]:
        """Subscribe ``callback``; returns the unsubscribe (idempotent)."""
        with self._lock:
            self._callbacks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

    def __iter__(self) -> Iterator[C]:
        """The callbacks as they are now (a copy), for a caller whose callbacks may raise."""
        with self._lock:
            return iter(list(self._callbacks))

    def call(self, *args: Any, what: str) -> None:
        """Call every callback with ``args``; one that fails is logged (``what`` failed) and
        does not keep the others from hearing it: a screen's listener never breaks a pickup."""
        for callback in self:
            try:
                callback(*args)
            except Exception:
                log.exception("%s failed", what)
