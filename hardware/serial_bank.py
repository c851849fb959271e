"""A lock bank on serial lock-control boards: any number of boards on one or more buses.

Each bus gets a :class:`firmware_bridge.bus.Bus` (its own thread owns the port) and a
:class:`firmware_bridge.poller.Poller`; a board's lock-feedback input stands for the door
(closed = latched), its IR input for the item.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from firmware_bridge.bus import BoardState, Bus, UnlockReport, dialect_for
from firmware_bridge.errors import BridgeError
from firmware_bridge.poller import (
    BoardOffline,
    BoardOnline,
    Change,
    ItemChanged,
    LockChanged,
    Poller,
)
from hardware.events import DoorWatch, EventHub
from hardware.layout import BusConfig, CompartmentConfig, SerialPlace
from locker.ports import (
    CompartmentReading,
    CompartmentSpec,
    EventCallback,
    EventKind,
    HardwareEvent,
    UnlockOutcome,
    UnlockResult,
    Unsubscribe,
)
from locker.vocabulary import DoorState


def outcome_of(report: UnlockReport) -> UnlockOutcome:
    """The port's unlock outcome for what the bus could tell."""
    if not report.sent:
        return UnlockOutcome.NOT_SENT
    if report.closed is False:
        return UnlockOutcome.UNLOCKED
    if report.closed is True:
        return UnlockOutcome.STAYED_LOCKED
    return UnlockOutcome.UNLOCKED if report.acknowledged else UnlockOutcome.UNCERTAIN


def reading_of(label: str, state: BoardState | BridgeError, channel: int) -> CompartmentReading:
    if isinstance(state, BridgeError):
        return CompartmentReading(label, DoorState.UNKNOWN, online=False)
    closed = state.closed[channel]
    item = None if state.items is None else state.items[channel]
    return CompartmentReading(label, DoorState.CLOSED if closed else DoorState.OPEN, closed, item)


class SerialBoardBank:
    """:class:`locker.ports.LockBank` on lock-control boards (see the module docstring)."""

    def __init__(
        self,
        compartments: Sequence[CompartmentConfig],
        buses: Mapping[str, BusConfig],
        lock_fault_after_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        start: bool = True,
    ) -> None:
        self._specs = [compartment.spec for compartment in compartments]
        self._places: dict[str, SerialPlace] = {}
        self._labels: dict[tuple[str, int, int], str] = {}
        for compartment in compartments:
            if not isinstance(compartment.place, SerialPlace):
                raise ValueError(f"{compartment.label} is not on a serial bus")
            place = compartment.place
            self._places[compartment.label] = place
            self._labels[place.bus, place.board, place.channel] = compartment.label
        self._hub = EventHub()
        self._watch = DoorWatch(self._hub, lock_fault_after_s, monotonic)
        self._buses: dict[str, Bus] = {}
        self._pollers: dict[str, Poller] = {}
        self._closed = False
        try:
            self._connect(buses, monotonic)
        except Exception:
            self.close()
            raise
        if start:
            self.start()

    def _connect(self, buses: Mapping[str, BusConfig], monotonic: Callable[[], float]) -> None:
        for name in sorted({place.bus for place in self._places.values()}):
            config = buses[name]
            self._buses[name] = Bus(
                config.port,
                dialect_for(config.protocol, config.status_bytes),
                config.boards,
                baud=config.baud,
                timing=config.timing,
                monotonic=monotonic,
            )
            self._pollers[name] = Poller(
                self._buses[name], config.poll_ms / 1000, partial(self._on_changes, name)
            )

    def start(self) -> None:
        """Begin polling (the first sweep is the baseline); once only."""
        for poller in self._pollers.values():
            poller.start()

    @property
    def buses(self) -> Mapping[str, Bus]:
        return self._buses

    def compartments(self) -> Sequence[CompartmentSpec]:
        return list(self._specs)

    def unlock(self, label: str) -> UnlockResult:
        place = self._places[label]
        latest = self._pollers[place.bus].latest(place.board)
        expected = latest is None or latest.closed[place.channel]
        if expected:  # armed before the pulse: the poller may see the door open before we return
            self._watch.expect(label)
        report = self._buses[place.bus].unlock(place.board, place.channel)
        outcome = outcome_of(report)
        if report.sent:
            if expected:
                self._watch.pulsed(label)
            self._pollers[place.bus].poll_now()
        elif expected:
            self._watch.cancel(label)
        return UnlockResult(label, outcome, report.detail)

    def read(self, label: str) -> CompartmentReading:
        place = self._places[label]
        state: BoardState | BridgeError
        try:
            state = self._buses[place.bus].read_status(place.board)
        except BridgeError as err:
            state = err
        return reading_of(label, state, place.channel)

    def read_all(self) -> Mapping[str, CompartmentReading]:
        results = {name: bus.sweep() for name, bus in self._buses.items()}
        return {
            spec.label: reading_of(
                spec.label,
                results[self._places[spec.label].bus][self._places[spec.label].board],
                self._places[spec.label].channel,
            )
            for spec in self._specs
        }

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        return self._hub.subscribe(callback)

    def responsive(self, timeout: float) -> bool:
        """Every bus owner thread runs a job within ``timeout`` s in all (for the watchdog)."""
        deadline = time.monotonic() + timeout
        return all(bus.ping(max(0.0, deadline - time.monotonic())) for bus in self._buses.values())

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every bus has been swept once (the baseline for change events)."""
        deadline = time.monotonic() + timeout
        return all(
            poller.settled.wait(max(0.0, deadline - time.monotonic()))
            for poller in self._pollers.values()
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for poller in self._pollers.values():
            poller.close()
        for bus in self._buses.values():
            bus.close()

    def __enter__(self) -> SerialBoardBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_changes(self, bus: str, changes: Sequence[Change]) -> None:
        for change in changes:
            if isinstance(change, LockChanged):
                label = self._labels.get((bus, change.board, change.channel))
                if label is not None:
                    self._watch.door_changed(label, is_open=not change.closed)
            elif isinstance(change, ItemChanged):
                label = self._labels.get((bus, change.board, change.channel))
                if label is not None:
                    self._hub.publish(
                        HardwareEvent(EventKind.ITEM_CHANGED, label=label, item=change.item)
                    )
            else:
                self._board_event(bus, change)
        self._watch.tick()

    def _board_event(self, bus: str, change: BoardOffline | BoardOnline) -> None:
        labels = tuple(
            label
            for (name, board, _), label in sorted(self._labels.items())
            if (name, board) == (bus, change.board)
        )
        kind = (
            EventKind.BOARD_OFFLINE if isinstance(change, BoardOffline) else EventKind.BOARD_ONLINE
        )
        detail = change.error if isinstance(change, BoardOffline) else ""
        self._hub.publish(
            HardwareEvent(kind, board=f"{bus}:{change.board}", labels=labels, detail=detail)
        )
