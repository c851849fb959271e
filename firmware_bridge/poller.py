"""Polls a bus and turns what changed into typed changes.

The first sweep only sets the baseline (no channel changes, but a board that is already
offline is reported); :attr:`Poller.settled` is set once it is done. After every sweep the
callback gets the (possibly empty) list of changes, so a listener can also use it as a tick.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from firmware_bridge.bus import BoardState, Bus, BusClosed
from firmware_bridge.errors import BridgeError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LockChanged:
    board: int
    channel: int
    closed: bool


@dataclass(frozen=True, slots=True)
class ItemChanged:
    board: int
    channel: int
    item: bool


@dataclass(frozen=True, slots=True)
class BoardOffline:
    board: int
    error: str


@dataclass(frozen=True, slots=True)
class BoardOnline:
    board: int


Change = LockChanged | ItemChanged | BoardOffline | BoardOnline


def diff(before: BoardState | None, after: BoardState) -> list[Change]:
    """Channel changes between two readings of one board (none against no reading)."""
    if before is None:
        return []
    changes: list[Change] = [
        LockChanged(after.board, channel, closed)
        for channel, (old, closed) in enumerate(zip(before.closed, after.closed, strict=True))
        if old != closed
    ]
    if before.items is not None and after.items is not None:
        changes += [
            ItemChanged(after.board, channel, item)
            for channel, (old, item) in enumerate(zip(before.items, after.items, strict=True))
            if old != item
        ]
    return changes


class Poller:
    """A thread that sweeps ``bus`` every ``interval_s`` (or at once after :meth:`poll_now`)."""

    def __init__(
        self, bus: Bus, interval_s: float, on_changes: Callable[[Sequence[Change]], None]
    ) -> None:
        self._bus = bus
        self._interval = interval_s
        self._on_changes = on_changes
        self._last: dict[int, BoardState] = {}
        self._offline: set[int] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.settled = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poll {bus.url}", daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def poll_now(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def latest(self, board: int) -> BoardState | None:
        return self._last.get(board)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                results = self._bus.sweep()
                self._on_changes(self._compare(results))
            except BusClosed:
                return
            except Exception:  # a bug must not end polling for good
                log.exception("polling %s failed", self._bus.url)
            self.settled.set()
            self._wake.wait(self._interval)
            self._wake.clear()

    def _compare(self, results: dict[int, BoardState | BridgeError]) -> list[Change]:
        changes: list[Change] = []
        for board, result in sorted(results.items()):
            if isinstance(result, BridgeError):
                if board not in self._offline:
                    self._offline.add(board)
                    changes.append(BoardOffline(board, str(result)))
                continue
            if board in self._offline:
                self._offline.discard(board)
                changes.append(BoardOnline(board))
            changes += diff(self._last.get(board), result)
            self._last[board] = result
        return changes
