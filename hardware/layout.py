"""The layout file: which compartments a bank has and where their locks and doors are wired.

A TOML file with three kinds of tables (docs/hardware.md is the full reference)::

    [bank]                      # optional
    name = "Rathaus"
    lock_fault_after_s = 10     # an unlock with no door-open in this time is a lock fault

    [screen]                    # optional: where the kiosk's touchscreen is (mm above floor)
    bottom_mm = 800
    top_mm = 1020

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
    handle_mm = 450             # optional: the handle's height above the floor
    bus = "rs485"
    board = 0
    channel = 0                 # from 0

    [[compartment]]             # or on GPIO pins of the Pi
    label = "G01"
    size = "S"
    row = 1
    lock_pin = 17
    door_pin = 27

:func:`load_layout` reads and checks it. Each table is checked by a pydantic model (the
``_…Table`` classes: the file's schema); a table that refers to another (a compartment to its
bus and board, a board to its bus's protocol) gets what it refers to as validation context.
Every problem is reported at once, one line each, naming the file, the table by its label or
name (by its position when it has none), the key and what is wrong::

    bank.toml: compartment A03: channel: must be between 0 and 15 for board 0 on bus rs485 (got 16)

The result is frozen dataclasses (:class:`Layout`): the file speaks in milliseconds, levels and
flat compartments, the banks want seconds, booleans and places.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from firmware_bridge.bus import PROTOCOLS, BoardSettings, BusTiming, dialect_for
from firmware_bridge.dialect import Dialect
from locker.config import decode_utf8, not_utf8
from locker.ports import CompartmentSpec
from locker.vocabulary import Size

GPIO_PINS = range(28)


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

    def __str__(self) -> str:
        return f"bus {self.bus} board {self.board} channel {self.channel}"


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
    handle_mm: int | None = None
    """Height of the handle above the floor; decides whether a wheelchair user reaches it."""

    @property
    def spec(self) -> CompartmentSpec:
        return CompartmentSpec(self.label, self.size, self.row, self.handle_mm)


@dataclass(frozen=True, slots=True)
class ScreenConfig:
    """The touchscreen's active area, in mm above the floor (EN 301 549 8.3 reach)."""

    bottom_mm: int
    top_mm: int


@dataclass(frozen=True, slots=True)
class Layout:
    compartments: tuple[CompartmentConfig, ...]
    buses: Mapping[str, BusConfig] = field(default_factory=dict)
    name: str = "locker"
    lock_fault_after_s: float = 10.0
    source: str = "<layout>"
    screen: ScreenConfig | None = None

    def compartment(self, label: str) -> CompartmentConfig:
        for compartment in self.compartments:
            if compartment.label == label:
                return compartment
        raise KeyError(label)

    def with_ports(self, ports: Mapping[str, str]) -> Layout:
        """The same layout with some buses moved to other ports (the simulator's ptys)."""
        buses = {
            name: replace(bus, port=ports[name]) if name in ports else bus
            for name, bus in self.buses.items()
        }
        return replace(self, buses=buses)


def load_layout(path: str | Path) -> Layout:
    """Read and check a layout file; raises :class:`LayoutError`."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise LayoutError(str(path), [f"cannot read: {err.strerror or err}"]) from None
    return _parse_bytes(data, str(path))


def load_packaged_layout(package: str, name: str) -> Layout:
    """A layout shipped inside a package, e.g. ``("simulator", "layouts/demo.toml")``."""
    return _parse_bytes(resources.files(package).joinpath(name).read_bytes(), f"{package}:{name}")


def _parse_bytes(data: bytes, source: str) -> Layout:
    try:
        text = decode_utf8(data)
    except UnicodeDecodeError as err:
        raise LayoutError(source, [not_utf8(data, err)]) from None
    return parse_layout(text, source)


def parse_layout(text: str, source: str = "<layout>") -> Layout:
    """Check a layout given as TOML text; ``source`` names it in every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LayoutError(source, [f"not valid TOML: {err}"]) from None
    report = _Report(data)
    tables = report.check(_FileTables, data, ())
    if tables is None:  # tables in the wrong place: their contents cannot be read yet
        raise LayoutError(source, report.problems)
    bank = report.check(_BankTable, tables.bank, ("bank",))
    screen = (
        report.check(_ScreenTable, tables.screen, ("screen",))
        if tables.screen is not None
        else None
    )
    buses = _buses(report, tables.bus)
    compartments = _compartments(report, tables.compartment, buses)
    if not tables.compartment:
        report.add(("compartment",), "none declared; a layout needs at least one [[compartment]]")
    if bank is None or report.problems:
        raise LayoutError(source, report.problems)
    checked = {name: bus for name, bus in buses.items() if bus is not None}
    return Layout(
        tuple(compartments),
        checked,
        bank.name,
        bank.lock_fault_after_s,
        source,
        ScreenConfig(screen.bottom_mm, screen.top_mm) if screen else None,
    )


# ------------------------------------------------------------------ the file's tables

_Text = Annotated[str, Field(pattern=r"\S")]
"""Text with something in it: a blank name, port or label is a mistake."""


def _given(info: ValidationInfo, key: str) -> Any:
    """What the caller knows that one table cannot: the bus's dialect, the declared buses."""
    return (info.context or {}).get(key)


class _Table(BaseModel):
    """One table of the file. Unknown keys are refused, and a value must already have its type
    (TOML has types), so ``"1"`` is never taken for 1 nor ``true`` for a number."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)


class _FileTables(_Table):
    bank: dict[str, Any] = {}
    screen: dict[str, Any] | None = None
    bus: list[dict[str, Any]] = []
    compartment: list[dict[str, Any]] = []


class _BankTable(_Table):
    name: _Text = "locker"
    lock_fault_after_s: Annotated[float, Field(ge=0)] = 10.0


_Millimetres = Annotated[int, Field(ge=0, le=3000)]
"""A height above the floor: whole millimetres, 0 to 3 m."""


class _ScreenTable(_Table):
    """The ``[screen]`` table: the touchscreen's active area above the floor."""

    bottom_mm: _Millimetres
    top_mm: _Millimetres

    @field_validator("top_mm")
    @classmethod
    def _top_above_bottom(cls, top: int, info: ValidationInfo) -> int:
        bottom = info.data.get("bottom_mm")
        if bottom is not None and top <= bottom:
            raise ValueError(f"must be above bottom_mm ({bottom})")
        return top


class _BoardTable(_Table):
    """A ``[[bus.board]]``; its limits come from the bus's protocol (context ``dialect``)."""

    address: int
    channels: int | None = None
    """Left out: 16, or the protocol's maximum if that is smaller."""
    closed_when_set: bool = True
    item_when_set: bool = True

    @field_validator("address")
    @classmethod
    def _address_fits_protocol(cls, address: int, info: ValidationInfo) -> int:
        dialect: Dialect | None = _given(info, "dialect")
        if dialect is not None and address not in dialect.boards:
            span = f"{dialect.boards.start} and {dialect.boards.stop - 1}"
            raise ValueError(f"must be between {span} for a {dialect.name} board")
        return address

    @field_validator("channels")
    @classmethod
    def _channels_fit_protocol(cls, channels: int | None, info: ValidationInfo) -> int | None:
        dialect: Dialect | None = _given(info, "dialect")
        if dialect is None or channels is None:
            return min(16, dialect.max_channels) if dialect else None
        if not 1 <= channels <= dialect.max_channels:
            raise ValueError(
                f"must be between 1 and {dialect.max_channels} for a {dialect.name} board"
            )
        return channels


class _BusTable(_Table):
    name: _Text
    port: _Text
    """A device path or a pyserial URL."""
    protocol: str = "cu16"
    baud: Annotated[int, Field(ge=300)] | None = None
    """Empty: the protocol's usual speed."""
    board: list[_BoardTable] = []
    timeout_ms: Annotated[float, Field(ge=1)] = 500
    retries: Annotated[int, Field(ge=0)] = 2
    ack_timeout_ms: Annotated[float, Field(ge=0)] = 300
    poll_ms: Annotated[int, Field(ge=1)] = 200
    offline_poll_ms: Annotated[float, Field(ge=1)] = 2000
    status_bytes: Annotated[int, Field(ge=1)] | None = None

    @field_validator("protocol")
    @classmethod
    def _protocol_is_known(cls, protocol: str) -> str:
        if protocol not in PROTOCOLS:
            raise ValueError(f"must be one of {', '.join(PROTOCOLS)}")
        return protocol

    @field_validator("board")
    @classmethod
    def _boards_declared_once(cls, boards: list[_BoardTable]) -> list[_BoardTable]:
        if not boards:
            raise ValueError("none declared; a bus needs at least one [[bus.board]]")
        addresses = [board.address for board in boards]
        if twice := sorted({address for address in addresses if addresses.count(address) > 1}):
            raise ValueError(f"board {', '.join(map(str, twice))} declared twice")
        return boards

    def config(self) -> BusConfig:
        dialect = dialect_for(self.protocol, self.status_bytes)
        timing = BusTiming(
            timeout_s=self.timeout_ms / 1000,
            retries=self.retries,
            ack_timeout_s=self.ack_timeout_ms / 1000,
            offline_poll_s=self.offline_poll_ms / 1000,
        )
        boards = tuple(BoardSettings(**board.model_dump()) for board in self.board)
        baud = self.baud or dialect.default_baud
        return BusConfig(
            self.name,
            self.port,
            self.protocol,
            baud,
            boards,
            timing,
            self.poll_ms,
            self.status_bytes,
        )


class _CompartmentTable(_Table):
    label: _Text
    size: Annotated[Size, Field(strict=False)]  # strict would want a Size, not its letter
    row: Annotated[int, Field(ge=1)]
    """1 is the bottom row."""
    handle_mm: _Millimetres | None = None
    """The handle's height above the floor; left out, the policy's accessible rows decide."""


class _SerialTable(_CompartmentTable):
    """A compartment on a serial board; context ``buses`` maps every declared bus name to its
    config, or to ``None`` when that bus has mistakes of its own (so nothing on it is blamed)."""

    bus: str = ""
    """Empty: the layout's only bus."""
    board: int
    channel: int

    @field_validator("bus")
    @classmethod
    def _bus_is_declared(cls, name: str, info: ValidationInfo) -> str:
        buses: Mapping[str, BusConfig | None] = _given(info, "buses")
        known = ", ".join(sorted(buses)) or "none declared"
        if not name and len(buses) == 1:
            return next(iter(buses))
        if not name:
            raise ValueError(f"is required unless the layout has exactly one bus (known: {known})")
        if name not in buses:
            raise ValueError(f"must name a declared bus: {known}")
        return name

    @field_validator("board")
    @classmethod
    def _board_is_on_bus(cls, address: int, info: ValidationInfo) -> int:
        bus = _bus_of(info)
        if bus is not None and bus.board(address) is None:
            declared = ", ".join(str(board.address) for board in bus.boards)
            raise ValueError(f"must be a board declared on bus {bus.name}: {declared}")
        return address

    @field_validator("channel")
    @classmethod
    def _channel_is_on_board(cls, channel: int, info: ValidationInfo) -> int:
        bus = _bus_of(info)
        board = bus.board(info.data["board"]) if bus and "board" in info.data else None
        if bus and board and not 0 <= channel < board.channels:
            where = f"board {board.address} on bus {bus.name}"
            raise ValueError(f"must be between 0 and {board.channels - 1} for {where}")
        return channel

    def place(self) -> SerialPlace:
        return SerialPlace(self.bus, self.board, self.channel)


def _bus_of(info: ValidationInfo) -> BusConfig | None:
    """The compartment's bus if it is declared and sound (its own problems are reported)."""
    buses: Mapping[str, BusConfig | None] = _given(info, "buses")
    return buses.get(info.data.get("bus", ""))


class _GpioTable(_CompartmentTable):
    lock_pin: int
    door_pin: int
    lock_active: Literal["high", "low"] = "high"
    door_closed: Literal["high", "low"] = "low"
    door_pull: Literal["up", "down", "none"] = "up"
    pulse_ms: Annotated[int, Field(ge=1)] = 500
    debounce_ms: Annotated[int, Field(ge=0)] = 20
    spring_open: bool = True

    @field_validator("lock_pin", "door_pin")
    @classmethod
    def _pin_exists(cls, pin: int) -> int:
        if pin not in GPIO_PINS:
            raise ValueError(f"must be a GPIO (BCM) number from 0 to {GPIO_PINS[-1]}")
        return pin

    def place(self) -> GpioPlace:
        as_is = self.model_dump(
            exclude={"label", "size", "row", "handle_mm", "lock_active", "door_closed"}
        )
        return GpioPlace(
            **as_is,
            lock_active_high=self.lock_active == "high",
            door_closed_high=self.door_closed == "high",
        )


_SERIAL_KEYS = set(_SerialTable.model_fields) - set(_CompartmentTable.model_fields)
_GPIO_KEYS = set(_GpioTable.model_fields) - set(_CompartmentTable.model_fields)


# ------------------------------------------------------------------ across tables


def _buses(report: _Report, tables: list[dict[str, Any]]) -> dict[str, BusConfig | None]:
    buses: dict[str, BusConfig | None] = {}
    checked: list[tuple[int, _BusTable]] = []
    for index, raw in enumerate(tables):
        protocol = raw.get("protocol", "cu16")
        dialect = dialect_for(protocol) if protocol in PROTOCOLS else None
        table = report.check(_BusTable, raw, ("bus", index), {"dialect": dialect})
        if isinstance(name := raw.get("name"), str):
            buses.setdefault(name, table.config() if table else None)
        if table is not None:
            checked.append((index, table))
    report.unique((bus.name, bus.name, ("bus", index, "name")) for index, bus in checked)
    report.unique(
        ((bus.port, bus.port, ("bus", index, "port")) for index, bus in checked),
        " (put all boards of one line on one bus)",
    )
    return buses


def _compartments(
    report: _Report, tables: list[dict[str, Any]], buses: Mapping[str, BusConfig | None]
) -> list[CompartmentConfig]:
    found: list[tuple[_Loc, CompartmentConfig]] = []
    for index, raw in enumerate(tables):
        loc: _Loc = ("compartment", index)
        model = _kind(report, raw, loc)
        if model and (table := report.check(model, raw, loc, {"buses": buses})):
            place = table.place()
            config = CompartmentConfig(table.label, table.size, table.row, place, table.handle_mm)
            found.append((loc, config))
    report.unique((c.label, c.label, (*loc, "label")) for loc, c in found)
    report.unique(
        (p, str(p), (*loc, "channel")) for loc, c in found if isinstance(p := c.place, SerialPlace)
    )
    report.unique(
        (pin, f"pin {pin}", (*loc, key))
        for loc, c in found
        if isinstance(p := c.place, GpioPlace)
        for key, pin in (("lock_pin", p.lock_pin), ("door_pin", p.door_pin))
    )
    return [compartment for _, compartment in found]


def _kind(
    report: _Report, raw: dict[str, Any], loc: _Loc
) -> type[_SerialTable | _GpioTable] | None:
    """A compartment is on a serial board or on GPIO pins, as its keys say; never both."""
    serial, gpio = sorted(raw.keys() & _SERIAL_KEYS), sorted(raw.keys() & _GPIO_KEYS)
    if serial and gpio:
        report.add(
            loc,
            f"has keys of a serial board ({', '.join(serial)}) and of GPIO pins"
            f" ({', '.join(gpio)}); a compartment is either on a bus or on pins",
        )
        return None
    if not serial and not gpio:
        report.add(loc, "needs bus/board/channel (a serial board) or lock_pin/door_pin (GPIO)")
        return None
    return _GpioTable if gpio else _SerialTable


# ------------------------------------------------------------------ problems in plain words

_Loc = tuple[int | str, ...]
_T = TypeVar("_T", bound=BaseModel)
_NAMED_BY = {"bus": "name", "board": "address", "compartment": "label"}
_PLAIN = {
    "missing": "is required",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "string_pattern_mismatch": "must not be empty",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "list_type": "must be an array of tables",
}


class _Report:
    """Collects every problem, each line naming where it is: ``compartment A03: channel: …``."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.problems: list[str] = []

    def add(self, loc: _Loc, problem: str) -> None:
        self.problems.append(f"{self.where(loc)}: {problem}")

    def check(
        self, model: type[_T], raw: Any, loc: _Loc, context: dict[str, Any] | None = None
    ) -> _T | None:
        """``raw`` as ``model``, or ``None`` with each of its problems reported."""
        try:
            return model.model_validate(raw, context=context)
        except ValidationError as err:
            for error in err.errors():
                self.add((*loc, *error["loc"]), _explain(model, error))
            return None

    def unique(self, claims: Iterable[tuple[Hashable, str, _Loc]], hint: str = "") -> None:
        """Report each value (a label, a port, a channel, a pin) claimed after its first owner."""
        owners: dict[Hashable, _Loc] = {}
        for value, shown, loc in claims:
            if value not in owners:
                owners[value] = loc
                continue
            first = owners[value]
            owner = self.where(first[:2])
            if first[:2] == loc[:2]:
                owner = f"its {first[2]}"
            elif owner == self.where(loc[:2]):
                owner = f"{first[0]} #{int(first[1]) + 1}"
            self.add(loc, f"{shown} is already used by {owner}{hint}")

    def where(self, loc: _Loc) -> str:
        """``("compartment", 2, "channel")`` → ``compartment A03: channel`` (``#3`` unnamed)."""
        parts: list[str] = []
        node: Any = self.data
        for part in loc:
            if isinstance(part, str):
                parts.append(part)
                node = node.get(part) if isinstance(node, dict) else None
                continue
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = node.get(_NAMED_BY.get(parts[-1], "")) if isinstance(node, dict) else None
            named = (isinstance(name, str) and name.strip()) or type(name) is int
            parts[-1] += f" {name if named else f'#{part + 1}'}"
        return ": ".join(parts)


def _explain(model: type[BaseModel], error: ErrorDetails) -> str:
    kind, ctx, got = error["type"], error.get("ctx", {}), error["input"]
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        close = difflib.get_close_matches(key, _keys_at(model, error["loc"]), n=1)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind in ("literal_error", "enum"):
        text = "must be one of " + ", ".join(re.findall(r"'([^']*)'", ctx["expected"]))
    elif kind == "greater_than_equal":
        text = f"must be at least {ctx['ge']:g}"
    elif kind == "value_error":
        text = str(ctx["error"])
    else:
        text = _PLAIN.get(kind, error["msg"])
    if kind == "missing" or got == "" or isinstance(got, dict | list):
        return text
    return f"{text} (got {got!r})"


def _keys_at(model: type[BaseModel], loc: _Loc) -> list[str]:
    """The keys of the table ``loc`` ends in: the model's, or a nested one's (a bus's board)."""
    for part in loc[:-1]:
        if isinstance(part, str):
            inner = get_args(model.model_fields[part].annotation)
            model = next(
                (t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)), model
            )
    return list(model.model_fields)
