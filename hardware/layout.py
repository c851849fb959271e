"""The layout file: which compartments a bank has and where their locks and doors are wired.

A TOML file with three kinds of tables (docs/hardware.md is the full reference)::

    [bank]                      # optional
    name = "Rathaus"
    lock_fault_after_s = 10     # an unlock with no door-open in this time is a lock fault

    [[bus]]                     # a serial line with lock-control boards on it
    name = "rs485"
    port = "/dev/ttyUSB0"       # or any pyserial URL: socket://host:port, spy:///dev/ttyUSB0
    protocol = "cu16"           # cu16 | xor8a
    [[bus.board]]
    address = 0

    [[compartment]]
    label = "A01"
    size = "M"                  # S | M | L
    row = 1                     # 1 = bottom row
    bus = "rs485"
    board = 0
    channel = 0                 # from 0

    [[compartment]]             # or on GPIO pins of the Pi
    label = "G01"
    size = "S"
    row = 1
    lock_pin = 17
    door_pin = 27

:func:`load_layout` reads and checks it; every problem found is reported at once, each line
naming the file, the compartment (or bus) and what is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from firmware_bridge.bus import PROTOCOLS, BoardSettings, BusTiming, dialect_for
from locker.ports import CompartmentSpec
from locker.vocabulary import Size

GPIO_PINS = range(28)
LEVELS = ("high", "low")
PULLS = ("up", "down", "none")


class LayoutError(ValueError):
    """The layout file cannot be used; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))
        self.source = source
        self.problems = problems


@dataclass(frozen=True, slots=True)
class BusConfig:
    name: str
    port: str
    protocol: str
    baud: int
    boards: tuple[BoardSettings, ...]
    timing: BusTiming
    poll_ms: int = 200
    status_bytes: int | None = None

    def board(self, address: int) -> BoardSettings | None:
        return next((board for board in self.boards if board.address == address), None)


@dataclass(frozen=True, slots=True)
class SerialPlace:
    bus: str
    board: int
    channel: int


@dataclass(frozen=True, slots=True)
class GpioPlace:
    lock_pin: int
    door_pin: int
    lock_active_high: bool = True
    door_closed_high: bool = False
    """Level of the door pin when the door is closed (a switch to ground with a pull-up: low)."""
    door_pull: str = "up"
    pulse_ms: int = 500
    debounce_ms: int = 20
    spring_open: bool = True
    """The door springs open on the pulse, so a pulse without a door-open means a jammed lock."""


@dataclass(frozen=True, slots=True)
class CompartmentConfig:
    label: str
    size: Size
    row: int
    place: SerialPlace | GpioPlace

    @property
    def spec(self) -> CompartmentSpec:
        return CompartmentSpec(self.label, self.size, self.row)


@dataclass(frozen=True, slots=True)
class Layout:
    compartments: tuple[CompartmentConfig, ...]
    buses: Mapping[str, BusConfig] = field(default_factory=dict)
    name: str = "locker"
    lock_fault_after_s: float = 10.0
    source: str = "<layout>"

    def compartment(self, label: str) -> CompartmentConfig:
        for compartment in self.compartments:
            if compartment.label == label:
                return compartment
        raise KeyError(label)

    def with_ports(self, ports: Mapping[str, str]) -> Layout:
        """The same layout with some buses moved to other ports (the simulator's ptys)."""
        buses = {
            name: _replace_port(bus, ports[name]) if name in ports else bus
            for name, bus in self.buses.items()
        }
        return Layout(self.compartments, buses, self.name, self.lock_fault_after_s, self.source)


def _replace_port(bus: BusConfig, port: str) -> BusConfig:
    return BusConfig(
        bus.name,
        port,
        bus.protocol,
        bus.baud,
        bus.boards,
        bus.timing,
        bus.poll_ms,
        bus.status_bytes,
    )


def load_layout(path: str | Path) -> Layout:
    """Read and check a layout file; raises :class:`LayoutError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise LayoutError(str(path), [f"cannot read: {err.strerror or err}"]) from err
    return parse_layout(text, str(path))


def load_packaged_layout(package: str, name: str) -> Layout:
    """A layout shipped inside a package, e.g. ``("simulator", "layouts/demo.toml")``."""
    resource = resources.files(package).joinpath(name)
    return parse_layout(resource.read_text(encoding="utf-8"), f"{package}:{name}")


def parse_layout(text: str, source: str = "<layout>") -> Layout:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LayoutError(source, [f"not valid TOML: {err}"]) from err
    checker = _Checker()
    layout = checker.layout(data, source)
    if checker.problems:
        raise LayoutError(source, checker.problems)
    return layout


class _Checker:
    """Builds the layout while collecting every problem rather than stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def layout(self, data: dict[str, Any], source: str) -> Layout:
        self._keys("file", data, {"bank", "bus", "compartment"})
        bank = self._table("[bank]", data.get("bank", {}))
        self._keys("[bank]", bank, {"name", "lock_fault_after_s"})
        buses: dict[str, BusConfig] = {}
        for index, raw in enumerate(self._tables("bus", data.get("bus", []))):
            bus = self.bus(raw, index)
            if bus is None:
                continue
            if bus.name in buses:
                self.problems.append(f"bus {bus.name!r}: declared twice")
            for other in buses.values():
                if bus.port and other.port == bus.port and other.name != bus.name:
                    self.problems.append(
                        f"bus {bus.name!r}: port {bus.port} is already bus {other.name!r}"
                        " (put all boards of one line on one bus)"
                    )
            buses[bus.name] = bus
        tables = self._tables("compartment", data.get("compartment", []))
        compartments = [
            compartment
            for index, raw in enumerate(tables)
            if (compartment := self.compartment(raw, index, buses)) is not None
        ]
        if not tables:
            self.problems.append("no [[compartment]] in the layout")
        self._unique(compartments)
        return Layout(
            tuple(compartments),
            buses,
            str(bank.get("name", "locker")),
            float(self._number("[bank]", bank, "lock_fault_after_s", 10.0, low=0.0)),
            source,
        )

    def bus(self, raw: dict[str, Any], index: int) -> BusConfig | None:
        where = f"bus {raw.get('name', f'#{index + 1}')!r}"
        allowed = {"name", "port", "protocol", "baud", "board", "timeout_ms", "retries"}
        allowed |= {"ack_timeout_ms", "poll_ms", "offline_poll_ms", "status_bytes"}
        self._keys(where, raw, allowed)
        name, port = raw.get("name"), raw.get("port")
        protocol = raw.get("protocol", "cu16")
        if not isinstance(name, str) or not name:
            self.problems.append(f"{where}: needs a name")
            return None
        if not isinstance(port, str) or not port:
            self.problems.append(f"{where}: needs a port (a device path or a pyserial URL)")
            port = ""
        if protocol not in PROTOCOLS:
            self.problems.append(
                f"{where}: protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}"
            )
            return None
        dialect = dialect_for(protocol)
        boards: list[BoardSettings] = []
        for board_raw in self._tables(f"{where} board", raw.get("board", [])):
            board = self.board(where, board_raw, dialect.boards, dialect.max_channels)
            if board is None:
                continue
            if any(other.address == board.address for other in boards):
                self.problems.append(f"{where}: board {board.address} declared twice")
            boards.append(board)
        if not boards:
            self.problems.append(f"{where}: declares no [[bus.board]]")
        timing = BusTiming(
            timeout_s=self._number(where, raw, "timeout_ms", 500, low=1) / 1000,
            retries=int(self._number(where, raw, "retries", 2, low=0)),
            ack_timeout_s=self._number(where, raw, "ack_timeout_ms", 300, low=0) / 1000,
            offline_poll_s=self._number(where, raw, "offline_poll_ms", 2000, low=1) / 1000,
        )
        status_bytes = raw.get("status_bytes")
        if status_bytes is not None and (not isinstance(status_bytes, int) or status_bytes < 1):
            self.problems.append(f"{where}: status_bytes must be a whole number from 1")
            status_bytes = None
        return BusConfig(
            name,
            port,
            protocol,
            int(self._number(where, raw, "baud", dialect.default_baud, low=300)),
            tuple(boards),
            timing,
            int(self._number(where, raw, "poll_ms", 200, low=1)),
            status_bytes,
        )

    def board(
        self, where: str, raw: dict[str, Any], addresses: range, max_channels: int
    ) -> BoardSettings | None:
        self._keys(
            f"{where} board", raw, {"address", "channels", "closed_when_set", "item_when_set"}
        )
        address = raw.get("address")
        if not isinstance(address, int) or address not in addresses:
            span = f"{addresses.start}..{addresses.stop - 1}"
            self.problems.append(f"{where}: board address {address!r} is not in {span}")
            return None
        default_channels = min(16, max_channels)
        channels = raw.get("channels", default_channels)
        if not isinstance(channels, int) or not 1 <= channels <= max_channels:
            self.problems.append(f"{where}: board {address} channels must be 1..{max_channels}")
            channels = default_channels
        return BoardSettings(
            address,
            channels,
            self._flag(f"{where} board {address}", raw, "closed_when_set", True),
            self._flag(f"{where} board {address}", raw, "item_when_set", True),
        )

    def compartment(
        self, raw: dict[str, Any], index: int, buses: Mapping[str, BusConfig]
    ) -> CompartmentConfig | None:
        label = raw.get("label")
        where = f"compartment {label!r}" if label else f"compartment #{index + 1}"
        serial_keys = {"bus", "board", "channel"}
        gpio_keys = {"lock_pin", "door_pin", "lock_active", "door_closed", "door_pull"}
        gpio_keys |= {"pulse_ms", "debounce_ms", "spring_open"}
        self._keys(where, raw, {"label", "size", "row"} | serial_keys | gpio_keys)
        if not isinstance(label, str) or not label.strip():
            self.problems.append(f"{where}: needs a label")
            return None
        try:
            size = Size(str(raw.get("size")))
        except ValueError:
            self.problems.append(f"{where}: size {raw.get('size')!r} is not one of S, M, L")
            return None
        row = raw.get("row")
        if not isinstance(row, int) or row < 1:
            self.problems.append(f"{where}: row {row!r} must be a whole number from 1 (bottom row)")
            return None
        place: SerialPlace | GpioPlace | None
        if "bus" in raw and "lock_pin" in raw:
            self.problems.append(
                f"{where}: give either bus/board/channel or lock_pin/door_pin, not both"
            )
            return None
        if "lock_pin" in raw or "door_pin" in raw:
            place = self.gpio(where, raw)
        else:
            place = self.serial(where, raw, buses)
        return None if place is None else CompartmentConfig(label, size, row, place)

    def serial(
        self, where: str, raw: dict[str, Any], buses: Mapping[str, BusConfig]
    ) -> SerialPlace | None:
        name, board, channel = raw.get("bus"), raw.get("board"), raw.get("channel")
        if name is None:
            if len(buses) != 1:
                self.problems.append(f"{where}: needs bus/board/channel or lock_pin/door_pin")
                return None
            name = next(iter(buses))
        bus = buses.get(name)
        if bus is None:
            known = ", ".join(sorted(buses)) or "none declared"
            self.problems.append(f"{where}: unknown bus {name!r} (known: {known})")
            return None
        settings = bus.board(board) if isinstance(board, int) else None
        if settings is None:
            self.problems.append(f"{where}: board {board!r} is not declared on bus {name!r}")
            return None
        if not isinstance(channel, int) or not 0 <= channel < settings.channels:
            self.problems.append(
                f"{where}: channel {channel!r} out of range 0..{settings.channels - 1} "
                f"of board {board} on bus {name!r}"
            )
            return None
        return SerialPlace(name, settings.address, channel)

    def gpio(self, where: str, raw: dict[str, Any]) -> GpioPlace | None:
        pins = []
        for key in ("lock_pin", "door_pin"):
            pin = raw.get(key)
            if not isinstance(pin, int) or pin not in GPIO_PINS:
                self.problems.append(f"{where}: {key} {pin!r} is not a GPIO number 0..27")
                return None
            pins.append(pin)
        lock_active = self._choice(where, raw, "lock_active", "high", LEVELS)
        door_closed = self._choice(where, raw, "door_closed", "low", LEVELS)
        return GpioPlace(
            pins[0],
            pins[1],
            lock_active_high=lock_active == "high",
            door_closed_high=door_closed == "high",
            door_pull=self._choice(where, raw, "door_pull", "up", PULLS),
            pulse_ms=int(self._number(where, raw, "pulse_ms", 500, low=1)),
            debounce_ms=int(self._number(where, raw, "debounce_ms", 20, low=0)),
            spring_open=self._flag(where, raw, "spring_open", True),
        )

    def _unique(self, compartments: list[CompartmentConfig]) -> None:
        labels: set[str] = set()
        places: dict[tuple[str, int, int], str] = {}
        pins: dict[int, str] = {}
        for compartment in compartments:
            where = f"compartment {compartment.label!r}"
            if compartment.label in labels:
                self.problems.append(f"{where}: duplicate label")
            labels.add(compartment.label)
            place = compartment.place
            if isinstance(place, SerialPlace):
                key = (place.bus, place.board, place.channel)
                if key in places:
                    self.problems.append(
                        f"{where}: bus {place.bus!r} board {place.board} channel {place.channel} "
                        f"is already used by {places[key]!r}"
                    )
                places[key] = compartment.label
                continue
            for pin in (place.lock_pin, place.door_pin):
                if pin in pins:
                    self.problems.append(f"{where}: pin {pin} is already used by {pins[pin]!r}")
                pins[pin] = compartment.label

    # -------------------------------------------------------------- small checks

    def _keys(self, where: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(raw) - allowed):
            self.problems.append(f"{where}: unknown key {key!r}")

    def _tables(self, where: str, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.problems.append(f"{where}: must be an array of tables ([[{where}]])")
            return []
        return value

    def _table(self, where: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problems.append(f"{where}: must be a table")
            return {}
        return value

    def _number(
        self, where: str, raw: Mapping[str, Any], key: str, default: float, low: float
    ) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            self.problems.append(f"{where}: {key} {value!r} must be a number >= {low:g}")
            return default
        return float(value)

    def _flag(self, where: str, raw: Mapping[str, Any], key: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.problems.append(f"{where}: {key} must be true or false")
            return default
        return value

    def _choice(
        self, where: str, raw: Mapping[str, Any], key: str, default: str, options: tuple[str, ...]
    ) -> str:
        value = raw.get(key, default)
        if value not in options:
            self.problems.append(f"{where}: {key} {value!r} is not one of {', '.join(options)}")
            return default
        return str(value)
