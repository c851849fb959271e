"""From raw door changes and unlocks to the core's events, shared by every bank.

:class:`EventHub` keeps the subscribers. :class:`DoorWatch` knows which compartments were
unlocked a moment ago: a door that opens after an unlock is ``DOOR_OPENED``, one that opens
without one is ``FORCED_OPEN``, and an unlock whose door has not opened within
``lock_fault_after_s`` is a ``LOCK_FAULT``. The bank calls :meth:`DoorWatch.tick` from its
own thread at least by :meth:`DoorWatch.next_deadline`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from locker.listeners import Listeners
from locker.ports import EventCallback, EventKind, HardwareEvent, Unsubscribe

log = logging.getLogger(__name__)


class EventHub:
    """Subscribers of one bank; a failing subscriber is logged and does not stop the others."""

    def __init__(self) -> None:
        self._callbacks: Listeners[EventCallback] = Listeners()

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        return self._callbacks.add(callback)

    def publish(self, event: HardwareEvent) -> None:
        self._callbacks.call(event, what=f"an event subscriber on {event}")


class DoorWatch:
    def __init__(
        self,
        hub: EventHub,
        lock_fault_after_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hub = hub
        self._fault_after = lock_fault_after_s
        self._monotonic = monotonic
        self._armed: dict[str, float] = {}
        self._lock = threading.Lock()

    def unlocked(self, label: str) -> None:
        """A pulse went (or may have gone) out: the door is expected to open soon."""
        with self._lock:
            self._armed[label] = self._monotonic() + self._fault_after

    def expect(self, label: str) -> None:
        """A pulse is about to go out: a door-open from now on is ours (no lock-fault clock yet,
        the exchange may take a while; :meth:`pulsed` starts it)."""
        with self._lock:
            self._armed[label] = math.inf

    def pulsed(self, label: str) -> None:
        """The expected pulse went (or may have gone) out: start the lock-fault clock, unless
        the door was seen opening already."""
        with self._lock:
            if label in self._armed:
                self._armed[label] = self._monotonic() + self._fault_after

    def cancel(self, label: str) -> None:
        """The pulse did not go out after all: no door-open is expected."""
        with self._lock:
            self._armed.pop(label, None)

    def door_changed(self, label: str, is_open: bool) -> None:
        if not is_open:
            self._hub.publish(HardwareEvent(EventKind.DOOR_CLOSED, label=label))
            return
        with self._lock:
            expected = self._armed.pop(label, None) is not None
        kind = EventKind.DOOR_OPENED if expected else EventKind.FORCED_OPEN
        detail = "" if expected else "door opened without an unlock"
        self._hub.publish(HardwareEvent(kind, label=label, detail=detail))

    def tick(self) -> None:
        now = self._monotonic()
        with self._lock:
            due = sorted(label for label, deadline in self._armed.items() if deadline <= now)
            for label in due:
                del self._armed[label]
        for label in due:
            detail = f"door did not open within {self._fault_after:g} s of the unlock"
            self._hub.publish(HardwareEvent(EventKind.LOCK_FAULT, label=label, detail=detail))

    def next_deadline(self) -> float | None:
        with self._lock:
            return min((d for d in self._armed.values() if d != math.inf), default=None)
