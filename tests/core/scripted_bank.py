"""A scripted lock bank for core tests: doors, locks and items that obey the test.

Unlike the full simulator, events are *queued* and handed to the core only when the test says
(``deliver``), so a test can lose them (a power cut) or interleave them at will.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from locker.core import Core
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
from locker.services.doors import handle_event
from locker.vocabulary import DoorState, Size


@dataclass
class Slot:
    spec: CompartmentSpec
    door_open: bool = False
    item: str | None = None
    jammed: bool = False
    online: bool = True
    unlocks: int = 0


@dataclass
class ScriptedBank:
    slots: dict[str, Slot] = field(default_factory=dict)
    pending: list[HardwareEvent] = field(default_factory=list)
    item_sensor: bool = True
    unlock_log: list[str] = field(default_factory=list)

    @classmethod
    def bank_of(
        cls, layout: Sequence[tuple[str, Size, int]], *, item_sensor: bool = True
    ) -> ScriptedBank:
        return cls(
            {label: Slot(CompartmentSpec(label, size, row)) for label, size, row in layout},
            item_sensor=item_sensor,
        )

    # LockBank port
    def compartments(self) -> Sequence[CompartmentSpec]:
        return [slot.spec for slot in self.slots.values()]

    def unlock(self, label: str) -> UnlockResult:
        slot = self.slots[label]
        if not slot.online:
            return UnlockResult(label, UnlockOutcome.NOT_SENT, "board offline")
        if slot.jammed:
            return UnlockResult(label, UnlockOutcome.STAYED_LOCKED, "jammed")
        slot.unlocks += 1
        self.unlock_log.append(label)
        if not slot.door_open:
            slot.door_open = True
            self.pending.append(HardwareEvent(EventKind.DOOR_OPENED, label=label))
        return UnlockResult(label, UnlockOutcome.UNLOCKED)

    def read(self, label: str) -> CompartmentReading:
        slot = self.slots[label]
        if not slot.online:
            return CompartmentReading(label, DoorState.UNKNOWN, online=False)
        return CompartmentReading(
            label,
            DoorState.OPEN if slot.door_open else DoorState.CLOSED,
            locked=not slot.door_open,
            item=(slot.item is not None) if self.item_sensor else None,
        )

    def read_all(self) -> Mapping[str, CompartmentReading]:
        return {label: self.read(label) for label in self.slots}

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        return lambda: None

    def close(self) -> None:
        return None

    # what people do
    def put(self, label: str, item: str) -> None:
        assert self.slots[label].door_open, "cannot put through a closed door"
        self.slots[label].item = item

    def take(self, label: str) -> str | None:
        assert self.slots[label].door_open, "cannot take through a closed door"
        item, self.slots[label].item = self.slots[label].item, None
        return item

    def close_door(self, label: str) -> None:
        slot = self.slots[label]
        if slot.door_open:
            slot.door_open = False
            self.pending.append(HardwareEvent(EventKind.DOOR_CLOSED, label=label))

    def deliver(self, core: Core) -> None:
        """Hand every queued event to the core, in order."""
        while self.pending:
            handle_event(core, self.pending.pop(0))

    def lose_events(self) -> None:
        self.pending.clear()


SMALL_BANK = [
    ("A01", Size.S, 1),
    ("A02", Size.S, 2),
    ("A03", Size.M, 2),
    ("A04", Size.M, 3),
    ("A05", Size.L, 1),
    ("A06", Size.S, 4),
]
