"""Layout files: the packaged layouts load; each mistake is one line naming the file, the table
(compartment by label, bus by name, board by address, else by position), the key and the problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

import pytest

from firmware_bridge.bus import BusTiming
from hardware.layout import (
    GpioPlace,
    LayoutError,
    SerialPlace,
    load_layout,
    load_packaged_layout,
    parse_layout,
)
from locker.vocabulary import Size
from simulator.virtual_hardware import load_demo_layout

Write = Callable[[str], Path]


def table(header: str, keys: dict[str, object]) -> str:
    """A TOML table; a key given as ``None`` is left out."""
    lines = [f"{key} = {toml(value)}" for key, value in keys.items() if value is not None]
    return "\n".join([header, *lines]) + "\n"


def toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else str(value)


def bus(boards: Iterable[dict[str, object]] = ({"address": 0},), **keys: object) -> str:
    values = {"name": "rs485", "port": "/dev/ttyUSB0", "protocol": "cu16", **keys}
    return table("[[bus]]", values) + "".join(table("[[bus.board]]", b) for b in boards)


def compartment(label: str | None, **keys: object) -> str:
    return table("[[compartment]]", {"label": label, "size": "M", "row": 1, **keys})


def serial(label: str, channel: int, **keys: object) -> str:
    return compartment(label, **{"bus": "rs485", "board": 0, "channel": channel, **keys})


def gpio(label: str, lock: int = 17, door: int = 27, **keys: object) -> str:
    return compartment(label, lock_pin=lock, door_pin=door, **keys)


BUS = bus()


def problems(write: Write, text: str) -> list[str]:
    path = write(text)
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    assert str(caught.value).splitlines() == [f"{path}: {line}" for line in caught.value.problems]
    assert caught.value.source == str(path)
    return caught.value.problems


# ------------------------------------------------------------------ good files


def test_demo_layout_has_24_cu16_compartments_and_4_on_gpio() -> None:
    layout = load_demo_layout()
    serial_places = [c for c in layout.compartments if isinstance(c.place, SerialPlace)]
    gpio_places = [c for c in layout.compartments if isinstance(c.place, GpioPlace)]
    assert len(serial_places) >= 24
    assert len(gpio_places) == 4
    assert {c.size for c in layout.compartments} == {Size.S, Size.M, Size.L}
    assert len({c.row for c in layout.compartments}) >= 3
    assert layout.buses["rs485"].protocol == "cu16"


def test_every_packaged_layout_loads() -> None:
    names = [p.name for p in resources.files("simulator").joinpath("layouts").iterdir()]
    tomls = [name for name in names if name.endswith(".toml")]
    assert "demo.toml" in tomls
    for name in tomls:
        layout = load_packaged_layout("simulator", f"layouts/{name}")
        assert layout.compartments
        assert layout.source == f"simulator:layouts/{name}"


def test_the_example_in_the_docs_loads() -> None:
    page = (Path(__file__).parents[2] / "docs" / "hardware.md").read_text(encoding="utf-8")
    example = page.split("## The layout file", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    layout = parse_layout(example, "docs/hardware.md")
    assert [c.label for c in layout.compartments] == ["A01", "G01"]
    assert layout.compartment("G01").place == GpioPlace(17, 27)


def test_a_good_file_loads_with_defaults(layout_file: Write) -> None:
    layout = load_layout(layout_file(BUS + serial("A01", 0) + gpio("G01")))
    assert (layout.name, layout.lock_fault_after_s) == ("locker", 10.0)
    bus_config = layout.buses["rs485"]
    assert (bus_config.baud, bus_config.poll_ms, bus_config.status_bytes) == (19200, 200, None)
    assert bus_config.timing == BusTiming(0.5, 2, 0.3, 2.0)
    assert bus_config.boards[0].channels == 16
    assert bus_config.boards[0].closed_when_set is True
    assert bus_config.boards[0].item_when_set is True
    assert layout.compartment("A01").place == SerialPlace("rs485", 0, 0)
    assert layout.compartment("A01").spec.row == 1
    assert layout.compartment("G01").place == GpioPlace(17, 27)
    with pytest.raises(KeyError):
        layout.compartment("Z99")


def test_every_setting_reaches_the_layout(layout_file: Write) -> None:
    text = (
        table("[bank]", {"name": "Rathaus", "lock_fault_after_s": 2.5})
        + bus(
            [{"address": 1, "channels": 24, "closed_when_set": False, "item_when_set": False}],
            protocol="xor8a",
            baud=19200,
            timeout_ms=120,
            retries=0,
            ack_timeout_ms=50,
            poll_ms=80,
            offline_poll_ms=900,
            status_bytes=3,
        )
        + compartment("A01", size="L", row=3, board=1, channel=23)  # the only bus: may be left out
        + gpio(
            "G01",
            lock_active="low",
            door_closed="high",
            door_pull="none",
            pulse_ms=1000,
            debounce_ms=0,
            spring_open=False,
        )
    )
    layout = load_layout(layout_file(text))
    assert (layout.name, layout.lock_fault_after_s) == ("Rathaus", 2.5)
    config = layout.buses["rs485"]
    assert (config.protocol, config.baud, config.poll_ms, config.status_bytes) == (
        "xor8a",
        19200,
        80,
        3,
    )
    assert config.timing == BusTiming(0.12, 0, 0.05, 0.9)
    assert config.board(1) is not None and config.board(1) == config.boards[0]
    assert (config.boards[0].channels, config.boards[0].closed_when_set) == (24, False)
    assert config.boards[0].item_when_set is False
    a01 = layout.compartment("A01")
    assert (a01.size, a01.row, a01.place) == (Size.L, 3, SerialPlace("rs485", 1, 23))
    assert layout.compartment("G01").place == GpioPlace(17, 27, False, True, "none", 1000, 0, False)


def test_xor8a_defaults(layout_file: Write) -> None:
    layout = load_layout(
        layout_file(bus([{"address": 1}], protocol="xor8a") + serial("A", 0, board=1))
    )
    assert layout.buses["rs485"].baud == 9600
    assert layout.buses["rs485"].boards[0].channels == 16


def test_with_ports_moves_only_the_named_buses(layout_file: Write) -> None:
    second = bus(name="second", port="/dev/ttyUSB1")
    layout = load_layout(layout_file(BUS + second + serial("A01", 0)))
    moved = layout.with_ports({"second": "/dev/pts/7"})
    assert moved.buses["second"].port == "/dev/pts/7"
    assert moved.buses["rs485"] == layout.buses["rs485"]
    assert (moved.compartments, moved.source) == (layout.compartments, layout.source)


# ------------------------------------------------------------------ the file itself


def test_not_toml(layout_file: Write) -> None:
    [line] = problems(layout_file, "[[compartment]\nlabel=")
    assert line.startswith("not valid TOML: ")
    assert "line 1" in line


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(LayoutError) as caught:
        load_layout(tmp_path / "missing.toml")
    assert (
        str(caught.value) == f"{tmp_path / 'missing.toml'}: cannot read: No such file or directory"
    )
    with pytest.raises(LayoutError) as caught:
        load_layout(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read: Is a directory"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[bank]\nname = "Bürgerbüro"\n'.encode("latin-1"))
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    assert str(caught.value) == f"{path}: not UTF-8 text: byte 0xfc on line 2 (save it as UTF-8)"


def test_every_problem_is_reported_at_once(layout_file: Write) -> None:
    text = table("[bank]", {"lock_fault_after_s": -1}) + BUS + serial("A01", 99) + gpio("G01", 40)
    assert problems(layout_file, text) == [
        "bank: lock_fault_after_s: must be at least 0 (got -1)",
        "compartment A01: channel: must be between 0 and 15 for board 0 on bus rs485 (got 99)",
        "compartment G01: lock_pin: must be a GPIO (BCM) number from 0 to 27 (got 40)",
    ]


def test_a_compartment_on_a_broken_bus_is_not_blamed(layout_file: Write) -> None:
    text = bus(port="") + serial("A01", 0) + serial("A02", 99)
    assert problems(layout_file, text) == ["bus rs485: port: must not be empty"]


# ------------------------------------------------------------------ one rule, one line

CASES: dict[str, tuple[str, list[str]]] = {
    # the file's tables
    "unknown table": (
        "compartmnet = 1\n" + BUS + serial("A01", 0),
        ["compartmnet: unknown key (did you mean 'compartment'?)"],
    ),
    "bus not an array": ("bus = 3\n" + gpio("G01"), ["bus: must be an array of tables (got 3)"]),
    "no compartment": (
        BUS,
        ["compartment: none declared; a layout needs at least one [[compartment]]"],
    ),
    # [bank]
    "bank name empty": (
        table("[bank]", {"name": ""}) + gpio("G01"),
        ["bank: name: must not be empty"],
    ),
    "bank name not text": (
        table("[bank]", {"name": 3}) + gpio("G01"),
        ["bank: name: must be text (got 3)"],
    ),
    "bank unknown key": (
        table("[bank]", {"nmae": "x"}) + gpio("G01"),
        ["bank: nmae: unknown key (did you mean 'name'?)"],
    ),
    # [[bus]]
    "bus without name": (
        bus(name=None) + gpio("G01"),
        ["bus #1: name: is required"],
    ),
    "bus without port": (bus(port=None) + gpio("G01"), ["bus rs485: port: is required"]),
    "bus protocol": (
        bus(protocol="cu61") + gpio("G01"),
        ["bus rs485: protocol: must be one of cu16, xor8a (got 'cu61')"],
    ),
    "bus unknown key": (
        bus(protocl="cu16") + gpio("G01"),
        ["bus rs485: protocl: unknown key (did you mean 'protocol'?)"],
    ),
    "bus baud": (bus(baud=100) + gpio("G01"), ["bus rs485: baud: must be at least 300 (got 100)"]),
    "bus poll_ms whole": (
        bus(poll_ms=1.5) + gpio("G01"),
        ["bus rs485: poll_ms: must be a whole number (got 1.5)"],
    ),
    "bus retries not a flag": (
        bus(retries=True) + gpio("G01"),
        ["bus rs485: retries: must be a whole number (got True)"],
    ),
    "bus without boards": (
        bus(boards=()) + gpio("G01"),
        ["bus rs485: board: none declared; a bus needs at least one [[bus.board]]"],
    ),
    "board twice": (
        bus(boards=({"address": 0}, {"address": 1}, {"address": 0})) + serial("A01", 0),
        ["bus rs485: board: board 0 declared twice"],
    ),
    "cu16 address": (
        bus(boards=({"address": 16},)) + gpio("G01"),
        ["bus rs485: board 16: address: must be between 0 and 15 for a cu16 board (got 16)"],
    ),
    "xor8a address": (
        bus(boards=({"address": 0},), protocol="xor8a") + gpio("G01"),
        ["bus rs485: board 0: address: must be between 1 and 31 for a xor8a board (got 0)"],
    ),
    "cu16 channels": (
        bus(boards=({"address": 0, "channels": 17},)) + gpio("G01"),
        ["bus rs485: board 0: channels: must be between 1 and 16 for a cu16 board (got 17)"],
    ),
    "xor8a channels": (
        bus(boards=({"address": 1, "channels": 0},), protocol="xor8a") + gpio("G01"),
        ["bus rs485: board 1: channels: must be between 1 and 64 for a xor8a board (got 0)"],
    ),
    "board flag": (
        bus(boards=({"address": 0, "closed_when_set": "yes"},)) + gpio("G01"),
        ["bus rs485: board 0: closed_when_set: must be true or false (got 'yes')"],
    ),
    "board unknown key": (
        bus(boards=({"adress": 0},)) + gpio("G01"),
        [
            "bus rs485: board #1: address: is required",
            "bus rs485: board #1: adress: unknown key (did you mean 'address'?)",
        ],
    ),
    "bus name twice": (
        BUS + bus(port="/dev/ttyUSB1") + serial("A01", 0),
        ["bus rs485: name: rs485 is already used by bus #1"],
    ),
    "two buses on one port": (
        BUS + bus(name="second") + serial("A01", 0),
        [
            "bus second: port: /dev/ttyUSB0 is already used by bus rs485"
            " (put all boards of one line on one bus)"
        ],
    ),
    # [[compartment]]: its own keys
    "label missing": (
        gpio("G01") + compartment(None, lock_pin=5, door_pin=6),
        ["compartment #2: label: is required"],
    ),
    "label blank": (gpio("  "), ["compartment #1: label: must not be empty (got '  ')"]),
    "size": (gpio("G01", size="XL"), ["compartment G01: size: must be one of S, M, L (got 'XL')"]),
    "size missing": (gpio("G01", size=None), ["compartment G01: size: is required"]),
    "row from 1": (gpio("G01", row=0), ["compartment G01: row: must be at least 1 (got 0)"]),
    "row is a number": (
        gpio("G01", row="1"),
        ["compartment G01: row: must be a whole number (got '1')"],
    ),
    "compartment unknown key": (
        BUS + serial("A01", 0, colour="red", chanel=2),
        [
            "compartment A01: colour: unknown key",
            "compartment A01: chanel: unknown key (did you mean 'channel'?)",
        ],
    ),
    "serial and gpio": (
        BUS + serial("A01", 0, lock_pin=17),
        [
            "compartment A01: has keys of a serial board (board, bus, channel) and of GPIO pins"
            " (lock_pin); a compartment is either on a bus or on pins"
        ],
    ),
    "neither serial nor gpio": (
        BUS + compartment("A01"),
        ["compartment A01: needs bus/board/channel (a serial board) or lock_pin/door_pin (GPIO)"],
    ),
    # [[compartment]] on a serial board
    "unknown bus": (
        BUS + serial("A01", 0, bus="rs232"),
        ["compartment A01: bus: must name a declared bus: rs485 (got 'rs232')"],
    ),
    "bus left out with two buses": (
        BUS + bus(name="second", port="/dev/ttyUSB1") + compartment("A01", board=0, channel=0),
        [
            "compartment A01: bus: is required unless the layout has exactly one bus (known: rs485, second)"
        ],
    ),
    "bus left out with none": (
        compartment("A01", board=0, channel=0),
        [
            "compartment A01: bus: is required unless the layout has exactly one bus"
            " (known: none declared)"
        ],
    ),
    "board not declared": (
        BUS + serial("A01", 0, board=3),
        ["compartment A01: board: must be a board declared on bus rs485: 0 (got 3)"],
    ),
    "board missing": (BUS + compartment("A01", channel=0), ["compartment A01: board: is required"]),
    "channel out of range": (
        BUS + serial("A03", 16),
        ["compartment A03: channel: must be between 0 and 15 for board 0 on bus rs485 (got 16)"],
    ),
    "channel beyond the board's channels": (
        bus(boards=({"address": 0, "channels": 8},)) + serial("A01", 8),
        ["compartment A01: channel: must be between 0 and 7 for board 0 on bus rs485 (got 8)"],
    ),
    "channel negative": (
        BUS + serial("A01", -1),
        ["compartment A01: channel: must be between 0 and 15 for board 0 on bus rs485 (got -1)"],
    ),
    "duplicate label": (
        BUS + serial("A01", 0) + serial("A01", 1),
        ["compartment A01: label: A01 is already used by compartment #1"],
    ),
    "channel used twice": (
        BUS + serial("A01", 3) + serial("A02", 3),
        [
            "compartment A02: channel: bus rs485 board 0 channel 3 is already used by compartment A01"
        ],
    ),
    # [[compartment]] on GPIO pins
    "pin out of range": (
        gpio("G01", door=28),
        ["compartment G01: door_pin: must be a GPIO (BCM) number from 0 to 27 (got 28)"],
    ),
    "door pin missing": (gpio("G01", door=None), ["compartment G01: door_pin: is required"]),
    "pin used twice": (
        gpio("G01", 17, 27) + gpio("G02", 27, 22),
        ["compartment G02: lock_pin: pin 27 is already used by compartment G01"],
    ),
    "lock and door on one pin": (
        gpio("G01", 17, 17),
        ["compartment G01: door_pin: pin 17 is already used by its lock_pin"],
    ),
    "lock_active": (
        gpio("G01", lock_active="on"),
        ["compartment G01: lock_active: must be one of high, low (got 'on')"],
    ),
    "door_closed": (
        gpio("G01", door_closed="closed"),
        ["compartment G01: door_closed: must be one of high, low (got 'closed')"],
    ),
    "door_pull": (
        gpio("G01", door_pull="sideways"),
        ["compartment G01: door_pull: must be one of up, down, none (got 'sideways')"],
    ),
    "pulse_ms": (
        gpio("G01", pulse_ms=0),
        ["compartment G01: pulse_ms: must be at least 1 (got 0)"],
    ),
    "debounce_ms": (
        gpio("G01", debounce_ms=-1),
        ["compartment G01: debounce_ms: must be at least 0 (got -1)"],
    ),
    "spring_open": (
        gpio("G01", spring_open=1),
        ["compartment G01: spring_open: must be true or false (got 1)"],
    ),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_each_mistake_is_named(layout_file: Write, text: str, expected: list[str]) -> None:
    assert problems(layout_file, text) == expected


@pytest.mark.parametrize(
    ("key", "least"),
    [
        ("timeout_ms", 1),
        ("retries", 0),
        ("ack_timeout_ms", 0),
        ("poll_ms", 1),
        ("offline_poll_ms", 1),
        ("status_bytes", 1),
    ],
)
def test_bus_numbers_have_a_floor(layout_file: Write, key: str, least: int) -> None:
    text = bus(**{key: least - 1}) + gpio("G01")
    assert problems(layout_file, text) == [
        f"bus rs485: {key}: must be at least {least} (got {least - 1})"
    ]
    load_layout(layout_file(bus(**{key: least}) + gpio("G01")))
