"""Helpers for the hardware tests: small layouts and an event recorder."""

from __future__ import annotations

import threading
from collections.abc import Callable

from hardware.layout import Layout, parse_layout
from locker.ports import EventKind, HardwareEvent

from ..waiting import Changes

WAIT = 5.0
"""Upper bound for every wait on an event; tests normally finish far sooner."""


class Recorder:
    """Collects a bank's events; tests wait on it instead of sleeping."""

    def __init__(self) -> None:
        self.events: list[HardwareEvent] = []
        self._lock = threading.Lock()
        self._changes = Changes()

    def __call__(self, event: HardwareEvent) -> None:
        with self._lock:
            self.events.append(event)
        self._changes.notify()

    def _find(self, kind: EventKind, label: str | None) -> HardwareEvent | None:
        with self._lock:
            return next(
                (e for e in self.events if e.kind == kind and (label is None or e.label == label)),
                None,
            )

    def wait_for(
        self, kind: EventKind, label: str | None = None, timeout: float = WAIT
    ) -> HardwareEvent:
        return self._changes.wait_for(
            lambda: self._find(kind, label), timeout, f"{kind} for {label} (got {self.events})"
        )

    def kinds(self, label: str | None = None) -> list[EventKind]:
        with self._lock:
            return [e.kind for e in self.events if label is None or e.label == label]

    def wait_until(
        self, condition: Callable[[list[HardwareEvent]], bool], timeout: float = WAIT
    ) -> bool:
        def holds() -> bool:
            with self._lock:
                return condition(list(self.events))

        return bool(self._changes.wait_for(holds, timeout))


def serial_layout(
    protocol: str = "cu16",
    *,
    boards: tuple[int, ...] | None = None,
    per_board: int = 4,
    channels: int | None = None,
    timeout_ms: int = 120,
    retries: int = 2,
    poll_ms: int = 20,
    offline_poll_ms: int = 100,
    fault_s: float = 0.4,
    baud: int | None = None,
) -> Layout:
    """A small bus: ``per_board`` compartments on each board, labelled A01…, B01…"""
    boards = boards or ((0, 1) if protocol == "cu16" else (1, 2))
    channels = channels or (16 if protocol == "cu16" else 8)
    text = [
        f"[bank]\nlock_fault_after_s = {fault_s}\n",
        f'[[bus]]\nname = "bus"\nport = "unused"\nprotocol = "{protocol}"\n'
        f"timeout_ms = {timeout_ms}\nretries = {retries}\npoll_ms = {poll_ms}\n"
        f"offline_poll_ms = {offline_poll_ms}\nack_timeout_ms = {timeout_ms}\n"
        + (f"baud = {baud}\n" if baud else ""),
    ]
    for address in boards:
        text.append(f"[[bus.board]]\naddress = {address}\nchannels = {channels}\n")
    for index, address in enumerate(boards):
        for channel in range(per_board):
            text.append(
                f'[[compartment]]\nlabel = "{chr(65 + index)}{channel + 1:02d}"\nsize = "M"\n'
                f'row = {channel + 1}\nbus = "bus"\nboard = {address}\nchannel = {channel}\n'
            )
    return parse_layout("\n".join(text), f"{protocol}-test.toml")


GPIO_PINS = ((17, 5), (27, 6), (22, 13), (23, 19))


def gpio_layout(*, pulse_ms: int = 100, debounce_ms: int = 10, fault_s: float = 0.4) -> Layout:
    text = [f"[bank]\nlock_fault_after_s = {fault_s}\n"]
    for index, (lock, door) in enumerate(GPIO_PINS):
        text.append(
            f'[[compartment]]\nlabel = "G{index + 1:02d}"\nsize = "S"\nrow = 1\n'
            f"lock_pin = {lock}\ndoor_pin = {door}\npulse_ms = {pulse_ms}\n"
            f"debounce_ms = {debounce_ms}\n"
        )
    return parse_layout("\n".join(text), "gpio-test.toml")
