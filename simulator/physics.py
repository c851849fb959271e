"""The physics of the simulated bank: locks, doors and items, and the faults a test asks for.

Door physics: a closed door's latch is engaged (``locked``). A lock pulse releases the latch
and the spring pushes the door open — unless the lock is jammed. The door stays open until
someone closes it, which engages the latch again. Forcing a door opens it with the latch
broken out (it reads open like any open door).

Faults live here too (per board and per bus), so that the whole state survives a demo restart
through :meth:`BankPhysics.to_dict` / :meth:`BankPhysics.from_dict`. Listeners hear about every
change of a compartment, watchers about any change (to save it), after the lock is released,
in the thread that made the change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from locker.listeners import Listeners

Listener = Callable[[str], None]


@dataclass
class Compartment:
    locked: bool = True
    door_open: bool = False
    item: bool = False
    jammed: bool = False
    forced: bool = False
    left_open: bool = False
    pulses: int = 0

    def faults(self) -> list[str]:
        return [name for name in ("jammed", "forced", "left_open") if getattr(self, name)]


@dataclass
class BoardFaults:
    offline: bool = False
    corrupt_rate: float = 0.0
    """Share of replies with one byte damaged (0..1)."""
    slow_ms: float = 0.0
    """Extra delay before every reply."""
    lose_replies: int = 0
    """The next this many replies are lost (the commands are still carried out)."""

    def active(self) -> list[str]:
        names = []
        if self.offline:
            names.append("board_offline")
        if self.corrupt_rate:
            names.append("corrupt_replies")
        if self.slow_ms:
            names.append("slow_replies")
        if self.lose_replies:
            names.append("lose_replies")
        return names


class BankPhysics:
    def __init__(
        self, labels: Iterable[str], boards: Iterable[str] = (), buses: Iterable[str] = ()
    ):
        self._compartments = {label: Compartment() for label in labels}
        self._boards = {board: BoardFaults() for board in boards}
        self._silent = dict.fromkeys(buses, False)
        self._changed = threading.Condition()
        self._listeners: Listeners[Listener] = Listeners()
        self._watchers: Listeners[Callable[[], None]] = Listeners()

    # ------------------------------------------------------------------ reading

    @property
    def labels(self) -> list[str]:
        return list(self._compartments)

    def compartment(self, label: str) -> Compartment:
        """A copy of one compartment's state."""
        with self._changed:
            return replace(self._compartments[label])

    def board_faults(self, board: str) -> BoardFaults:
        with self._changed:
            return replace(self._boards[board])

    def silent(self, bus: str) -> bool:
        with self._changed:
            return self._silent.get(bus, False)

    def pulses(self, label: str) -> int:
        return self.compartment(label).pulses

    def wait_until(self, condition: Callable[[BankPhysics], bool], timeout: float = 5.0) -> bool:
        """Wait (bounded) until ``condition(world)`` holds; for tests and scenario scripts."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    def listen(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def watch(self, watcher: Callable[[], None]) -> Callable[[], None]:
        """Call ``watcher()`` after any change at all (compartments and faults), e.g. to save."""
        return self._watchers.add(watcher)

    def _notify(self, labels: Iterable[str]) -> None:
        """Tell listeners and watchers, outside the lock, in the thread that made the change."""
        listeners, watchers = list(self._listeners), list(self._watchers)
        for label in labels:
            for listener in listeners:
                listener(label)
        for watcher in watchers:
            watcher()

    # ------------------------------------------------------------------ physics

    def pulse(self, label: str) -> None:
        """The lock of ``label`` got a pulse from its board or relay."""

        def act(state: Compartment) -> None:
            state.pulses += 1
            if not state.jammed:
                state.locked = False
                state.door_open = True

        self._change(label, act)

    def close_door(self, label: str) -> None:
        """A person pushes the door shut; the latch engages (a left-open door stays open)."""

        def act(state: Compartment) -> None:
            if state.left_open:
                return
            state.door_open = False
            state.locked = True
            state.forced = False

        self._change(label, act)

    def open_door(self, label: str) -> None:
        """A person pulls the door open; only an unlatched door moves."""

        def act(state: Compartment) -> None:
            if not state.locked:
                state.door_open = True

        self._change(label, act)

    def force_door(self, label: str) -> None:
        """Tamper: the door is pried open, latch or not."""
        self._change(label, lambda state: _set(state, door_open=True, locked=False, forced=True))

    def leave_open(self, label: str, on: bool = True) -> None:
        """The door is left open and wedged: closing it does nothing until this is undone."""

        def act(state: Compartment) -> None:
            state.left_open = on
            if on and not state.locked:
                state.door_open = True

        self._change(label, act)

    def put_item(self, label: str) -> None:
        self.set_item(label, True)

    def set_item(self, label: str, present: bool) -> None:
        """``POST /sim/compartments/{label}/item``: a document put in or taken out."""
        self._change(label, lambda state: _set(state, item=present))

    def take_item(self, label: str) -> None:
        self.set_item(label, False)

    def jam(self, label: str, on: bool = True) -> None:
        self._change(label, lambda state: _set(state, jammed=on))

    def set_board_faults(self, board: str, **changes: Any) -> None:
        with self._changed:
            faults = self._boards.setdefault(board, BoardFaults())
            for key, value in changes.items():
                if key not in {f.name for f in fields(BoardFaults)}:
                    raise ValueError(f"unknown board fault {key!r}")
                setattr(faults, key, value)
            self._changed.notify_all()
        self._notify(())

    def take_lost_reply(self, board: str) -> bool:
        """True (and one fewer to lose) if the next reply of ``board`` is to be lost."""
        with self._changed:
            faults = self._boards.setdefault(board, BoardFaults())
            if faults.lose_replies <= 0:
                return False
            faults.lose_replies -= 1
        self._notify(())
        return True

    def set_silent(self, bus: str, on: bool = True) -> None:
        with self._changed:
            self._silent[bus] = on
            self._changed.notify_all()
        self._notify(())

    def _change(self, label: str, act: Callable[[Compartment], None]) -> None:
        with self._changed:
            act(self._compartments[label])
            self._changed.notify_all()
        self._notify([label])

    # ------------------------------------------------------------------ persistence and view

    def state(self) -> dict[str, Any]:
        """The shape of ``GET /sim/state``: every compartment, then boards and buses."""
        with self._changed:
            return {
                "compartments": [
                    {
                        "label": label,
                        "door": "open" if state.door_open else "closed",
                        "locked": state.locked,
                        "item": state.item,
                        "faults": state.faults(),
                        "pulses": state.pulses,
                    }
                    for label, state in self._compartments.items()
                ],
                "boards": [
                    {"board": board, "faults": faults.active()}
                    for board, faults in self._boards.items()
                ],
                "buses": [{"bus": bus, "silent": silent} for bus, silent in self._silent.items()],
            }

    def to_dict(self) -> dict[str, Any]:
        with self._changed:
            return {
                "compartments": {label: asdict(s) for label, s in self._compartments.items()},
                "boards": {board: asdict(f) for board, f in self._boards.items()},
                "silent": dict(self._silent),
            }

    def load(self, data: dict[str, Any]) -> None:
        """Take over a state saved by :meth:`to_dict` (unknown labels are ignored)."""
        changed = []
        with self._changed:
            for label, values in data.get("compartments", {}).items():
                if label in self._compartments:
                    self._compartments[label] = Compartment(**values)
                    changed.append(label)
            for board, values in data.get("boards", {}).items():
                self._boards[board] = BoardFaults(**values)
            self._silent.update(data.get("silent", {}))
            self._changed.notify_all()
        self._notify(changed)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BankPhysics:
        world = cls(data.get("compartments", {}), data.get("boards", {}), data.get("silent", {}))
        world.load(data)
        return world


def _set(state: Compartment, **values: Any) -> None:
    for key, value in values.items():
        setattr(state, key, value)
