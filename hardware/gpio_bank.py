"""A lock bank on the Pi's own GPIO pins, through gpiozero.

Per compartment a :class:`gpiozero.DigitalOutputDevice` drives the lock relay (one pulse of
``pulse_ms`` per unlock, timed by gpiozero's ``blink``) and a :class:`gpiozero.DigitalInputDevice`
reads the door switch. Debouncing is ours, not the pin driver's (gpiozero's mock pins ignore
``bounce_time``): an edge only stamps the time; the bank's thread reads the pin once it has
been quiet for ``debounce_ms`` and reports a change against the last accepted state. The first
stable reading after :meth:`GpioBank.start` is the baseline and is not reported.

The pin factory is passed in (``pin_factory=``), never read from gpiozero's global.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice

from hardware.events import DoorWatch, EventHub
from hardware.layout import CompartmentConfig, GpioPlace
from locker.ports import (
    CompartmentReading,
    CompartmentSpec,
    EventCallback,
    UnlockOutcome,
    UnlockResult,
    Unsubscribe,
)
from locker.vocabulary import DoorState

_PULLS: dict[str, bool | None] = {"up": True, "down": False, "none": None}


@dataclass
class _Door:
    label: str
    place: GpioPlace
    relay: Any
    switch: Any
    accepted_open: bool | None = None
    edge_at: float | None = 0.0
    opened: threading.Event = field(default_factory=threading.Event)

    def is_open(self) -> bool:
        return bool(self.switch.pin.state) != self.place.door_closed_high


class GpioBank:
    """:class:`locker.ports.LockBank` on GPIO pins (see the module docstring)."""

    def __init__(
        self,
        compartments: Sequence[CompartmentConfig],
        pin_factory: Any = None,
        lock_fault_after_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        start: bool = True,
    ) -> None:
        self._specs = [compartment.spec for compartment in compartments]
        self._monotonic = monotonic
        self._hub = EventHub()
        self._watch = DoorWatch(self._hub, lock_fault_after_s, monotonic)
        self._changed = threading.Condition()
        self._stop = False
        self._settled = threading.Event()
        self._doors: dict[str, _Door] = {}
        try:
            for compartment in compartments:
                self._doors[compartment.label] = self._wire(compartment, pin_factory)
        except Exception:
            self._close_devices()
            raise
        self._thread = threading.Thread(target=self._run, name="gpio bank", daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        """Take the baseline (a debounce time from now) and begin reporting; once only."""
        with self._changed:
            if self._thread.is_alive() or self._stop:
                return
            started = self._monotonic()
            for door in self._doors.values():
                door.edge_at = started
        self._thread.start()

    def _wire(self, compartment: CompartmentConfig, pin_factory: Any) -> _Door:
        place = compartment.place
        if not isinstance(place, GpioPlace):
            raise ValueError(f"{compartment.label} is not on GPIO pins")
        pull = _PULLS[place.door_pull]
        relay = DigitalOutputDevice(
            place.lock_pin, active_high=place.lock_active_high, pin_factory=pin_factory
        )
        try:
            switch = DigitalInputDevice(
                place.door_pin,
                pull_up=pull,
                active_state=place.door_closed_high if pull is None else None,
                pin_factory=pin_factory,
            )
        except Exception:
            relay.close()
            raise
        door = _Door(compartment.label, place, relay, switch)
        switch.when_activated = lambda: self._edge(door)
        switch.when_deactivated = lambda: self._edge(door)
        return door

    # ------------------------------------------------------------------ LockBank

    def compartments(self) -> Sequence[CompartmentSpec]:
        return list(self._specs)

    def unlock(self, label: str) -> UnlockResult:
        door = self._doors[label]
        place = door.place
        if self._stop:
            return UnlockResult(label, UnlockOutcome.NOT_SENT, "bank closed")
        already_open = door.accepted_open is True
        door.opened.clear()
        if not already_open:
            self._watch.unlocked(label)
        try:
            door.relay.blink(on_time=place.pulse_ms / 1000, off_time=0, n=1, background=True)
        except Exception as err:  # a pin driver error: nothing reached the lock
            self._watch.cancel(label)
            return UnlockResult(label, UnlockOutcome.NOT_SENT, f"relay pin: {err}")
        with self._changed:
            self._changed.notify_all()
        if already_open or not place.spring_open:
            return UnlockResult(label, UnlockOutcome.UNLOCKED, "pulsed")
        if door.opened.wait((place.pulse_ms + place.debounce_ms) / 1000 + 0.05):
            return UnlockResult(label, UnlockOutcome.UNLOCKED)
        return UnlockResult(
            label, UnlockOutcome.STAYED_LOCKED, "door did not open during the pulse"
        )

    def read(self, label: str) -> CompartmentReading:
        door = self._doors[label]
        return CompartmentReading(label, DoorState.OPEN if door.is_open() else DoorState.CLOSED)

    def read_all(self) -> Mapping[str, CompartmentReading]:
        return {spec.label: self.read(spec.label) for spec in self._specs}

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        return self._hub.subscribe(callback)

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every door has a debounced baseline."""
        return self._settled.wait(timeout)

    def close(self) -> None:
        with self._changed:
            if self._stop:
                return
            self._stop = True
            self._changed.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()
        self._close_devices()

    def __enter__(self) -> GpioBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the bank's thread

    def _edge(self, door: _Door) -> None:
        with self._changed:
            door.edge_at = self._monotonic()
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._stop:
                    return
                now = self._monotonic()
                due = [door for door in self._doors.values() if self._quiet(door, now)]
                for door in due:
                    door.edge_at = None
                wait = self._next_wake(now) if not due else 0.0
            for door in due:
                self._settle(door)
            if not self._settled.is_set() and all(
                door.accepted_open is not None for door in self._doors.values()
            ):
                self._settled.set()
            self._watch.tick()
            if wait:
                with self._changed:
                    if not self._stop:
                        self._changed.wait(wait)

    def _quiet(self, door: _Door, now: float) -> bool:
        return door.edge_at is not None and now - door.edge_at >= door.place.debounce_ms / 1000

    def _next_wake(self, now: float) -> float:
        deadlines = [
            door.edge_at + door.place.debounce_ms / 1000
            for door in self._doors.values()
            if door.edge_at is not None
        ]
        fault = self._watch.next_deadline()
        if fault is not None:
            deadlines.append(fault)
        return max(0.001, min(deadlines) - now) if deadlines else 1.0

    def _settle(self, door: _Door) -> None:
        is_open = door.is_open()
        previous, door.accepted_open = door.accepted_open, is_open
        if is_open:
            door.opened.set()
        if previous is None or previous == is_open:
            return
        self._watch.door_changed(door.label, is_open)

    def _close_devices(self) -> None:
        for door in self._doors.values():
            door.relay.close()
            door.switch.close()
