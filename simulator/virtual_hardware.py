"""The simulated hardware: the bank's physics, its virtual buses on ptys and its GPIO pins.

::

    with simulated_bank(load_demo_layout()) as (bank, sim):
        bank.unlock("A03")          # the real SerialBoardBank talks to a virtual CU16 on a pty
        sim.put_item("A03")
        sim.close_door("A03")
        sim.jam("A05")
        sim.board_offline(1)

:class:`VirtualHardware` owns a :class:`~simulator.physics.BankPhysics`, one :class:`VirtualBus`
per bus of the layout and, for GPIO compartments, a gpiozero ``MockFactory`` wired by
:class:`GpioRig`. :meth:`VirtualHardware.production_bank` builds the production bank
(``hardware.bank.build_bank``) against it; :func:`simulated_bank` does so for a test.
The whole simulated world (hardware, message stand-ins, clock) is :mod:`simulator.world`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gpiozero.pins.mock import MockFactory

from hardware.bank import CompositeBank, build_bank
from hardware.layout import GpioPlace, Layout, SerialPlace, load_packaged_layout
from simulator.boards import VirtualBus
from simulator.gpio import GpioRig
from simulator.physics import BankPhysics

DEFAULT_CORRUPT_RATE = 0.5
DEFAULT_SLOW_MS = 200.0


def load_demo_layout() -> Layout:
    """The demo bank: 24 compartments on two virtual CU16 boards and 4 on GPIO pins."""
    return load_packaged_layout("simulator", "layouts/demo.toml")


class VirtualHardware:
    def __init__(
        self,
        layout: Layout,
        latency_ms: float = 5.0,
        seed: int = 0,
        state: dict[str, Any] | None = None,
        pin_factory: Any = None,
        cu16_unlock_reply: bool = True,
    ) -> None:
        self.layout = layout
        boards = [
            f"{bus.name}:{board.address}" for bus in layout.buses.values() for board in bus.boards
        ]
        self.physics = BankPhysics([c.label for c in layout.compartments], boards, layout.buses)
        if state:
            self.physics.load(state)
        self.buses: dict[str, VirtualBus] = {}
        gpio = [c for c in layout.compartments if isinstance(c.place, GpioPlace)]
        self.pin_factory = pin_factory if pin_factory is not None or not gpio else MockFactory()
        self.gpio = GpioRig(self.physics, gpio, self.pin_factory) if gpio else None
        try:
            for name, bus in layout.buses.items():
                placements = {
                    (c.place.board, c.place.channel): c.label
                    for c in layout.compartments
                    if isinstance(c.place, SerialPlace) and c.place.bus == name
                }
                self.buses[name] = VirtualBus(
                    self.physics, bus, placements, latency_ms / 1000, seed, cu16_unlock_reply
                )
        except Exception:
            self.close()
            raise

    @property
    def ports(self) -> dict[str, str]:
        """Bus name → the pty the controller should open."""
        return {name: bus.path for name, bus in self.buses.items()}

    def controller_layout(self) -> Layout:
        """The layout with every bus pointing at its virtual board's pty."""
        return self.layout.with_ports(self.ports)

    def production_bank(
        self, settle_timeout: float = 10.0, monotonic: Callable[[], float] = time.monotonic
    ) -> CompositeBank:
        """The production bank (serial boards and GPIO, as ``locker serve`` builds it) wired to
        this hardware, started and settled (every door read once); the caller closes it."""
        bank = build_bank(self.controller_layout(), self.pin_factory, monotonic, start=False)
        try:
            if self.gpio is not None:
                self.gpio.resync()  # the bank's input pulls reset the door pins
            bank.start()
            if not bank.wait_settled(settle_timeout):
                raise TimeoutError("the simulated bank did not answer in time")
        except BaseException:
            bank.close()
            raise
        return bank

    def start(self) -> VirtualHardware:
        for bus in self.buses.values():
            bus.start()
        return self

    def close(self) -> None:
        for bus in self.buses.values():
            bus.close()
        if self.gpio is not None:
            self.gpio.close()

    def __enter__(self) -> VirtualHardware:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ people and faults

    def close_door(self, label: str) -> None:
        self.physics.close_door(label)

    def open_door(self, label: str) -> None:
        self.physics.open_door(label)

    def force_door(self, label: str) -> None:
        self.physics.force_door(label)

    def leave_open(self, label: str, on: bool = True) -> None:
        self.physics.leave_open(label, on)

    def put_item(self, label: str) -> None:
        self.physics.put_item(label)

    def take_item(self, label: str) -> None:
        self.physics.take_item(label)

    def set_item(self, label: str, present: bool) -> None:
        self.physics.set_item(label, present)

    def jam(self, label: str, on: bool = True) -> None:
        self.physics.jam(label, on)

    def unjam(self, label: str) -> None:
        self.physics.jam(label, False)

    def board_offline(self, board: int | str, on: bool = True) -> None:
        self.physics.set_board_faults(self.board_id(board), offline=on)

    def board_online(self, board: int | str) -> None:
        self.board_offline(board, on=False)

    def corrupt_replies(
        self, rate: float = DEFAULT_CORRUPT_RATE, board: int | str | None = None
    ) -> None:
        for each in self._boards(board):
            self.physics.set_board_faults(each, corrupt_rate=rate)

    def slow_replies(self, ms: float = DEFAULT_SLOW_MS, board: int | str | None = None) -> None:
        for each in self._boards(board):
            self.physics.set_board_faults(each, slow_ms=ms)

    def lose_replies(self, board: int | str, count: int = 1) -> None:
        """The next ``count`` replies of ``board`` are lost on the wire (commands still act)."""
        self.physics.set_board_faults(self.board_id(board), lose_replies=count)

    def silence(self, on: bool = True, bus: str | None = None) -> None:
        """No reply reaches the controller on ``bus`` (every bus if none is named)."""
        for name in [bus] if bus else list(self.buses):
            self.physics.set_silent(name, on)

    def noise(self, data: bytes, bus: str | None = None) -> None:
        """Raw bytes appear on the line towards the controller (on every bus if none is named)."""
        for name in [bus] if bus else list(self.buses):
            self.buses[name].inject(data)

    def set_fault(self, kind: str, target: str, on: bool) -> None:
        """``POST /sim/faults``: jam, board_offline, corrupt_replies, slow_replies, silence."""
        if kind == "jam":
            self.jam(target, on)
        elif kind == "board_offline":
            self.board_offline(target, on)
        elif kind == "corrupt_replies":
            self.corrupt_replies(DEFAULT_CORRUPT_RATE if on else 0.0, target or None)
        elif kind == "slow_replies":
            self.slow_replies(DEFAULT_SLOW_MS if on else 0.0, target or None)
        elif kind == "silence":
            self.silence(on, target or None)
        elif kind == "left_open":
            self.leave_open(target, on)
        else:
            raise ValueError(f"unknown hardware fault {kind!r}")

    # ------------------------------------------------------------------ looking

    def state(self) -> dict[str, Any]:
        """``GET /sim/state``; a compartment on an offline board also lists ``board_offline``."""
        state = self.physics.state()
        offline = {b["board"] for b in state["boards"] if "board_offline" in b["faults"]}
        for entry in state["compartments"]:
            place = self.layout.compartment(entry["label"]).place
            if isinstance(place, SerialPlace) and f"{place.bus}:{place.board}" in offline:
                entry["faults"].append("board_offline")
        return state

    def to_dict(self) -> dict[str, Any]:
        return self.physics.to_dict()

    def load(self, data: dict[str, Any]) -> None:
        self.physics.load(data)

    def pulses(self, label: str) -> int:
        return self.physics.pulses(label)

    def door_open(self, label: str) -> bool:
        return self.physics.compartment(label).door_open

    def wait_until(self, condition: Callable[[BankPhysics], bool], timeout: float = 5.0) -> bool:
        return self.physics.wait_until(condition, timeout)

    def board_id(self, board: int | str) -> str:
        """``"rs485:1"`` as given, or the board with this address on the only bus that has it."""
        if isinstance(board, str) and ":" in board:
            return board
        address = int(board)
        owners = [name for name, bus in self.buses.items() if address in bus.boards]
        if len(owners) != 1:
            raise ValueError(f"board {board!r} is on {len(owners)} buses; name it as 'bus:address'")
        return f"{owners[0]}:{address}"

    def _boards(self, board: int | str | None) -> list[str]:
        if board is not None and board != "":
            if isinstance(board, str) and board in self.buses:
                return [self.buses[board].board_id(a) for a in self.buses[board].boards]
            return [self.board_id(board)]
        return [bus.board_id(a) for bus in self.buses.values() for a in bus.boards]


@contextmanager
def simulated_bank(
    layout: Layout | None = None,
    *,
    latency_ms: float = 5.0,
    seed: int = 0,
    state: dict[str, Any] | None = None,
    settle_timeout: float = 10.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[tuple[CompositeBank, VirtualHardware]]:
    """The real lock bank of ``layout`` (the demo layout by default) on simulated hardware."""
    with VirtualHardware(layout or load_demo_layout(), latency_ms, seed, state) as sim:
        bank = sim.production_bank(settle_timeout, monotonic)
        try:
            yield bank, sim
        finally:
            bank.close()
