"""Layout files: the demo layout loads; each mistake is named with file, compartment, problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hardware.layout import GpioPlace, LayoutError, SerialPlace, load_layout
from locker.vocabulary import Size
from simulator.virtual_hardware import load_demo_layout

BUS = """
[[bus]]
name = "rs485"
port = "/dev/ttyUSB0"
protocol = "cu16"
[[bus.board]]
address = 0
channels = 16
"""


def compartment(label: str, **keys: object) -> str:
    values = {"size": "M", "row": 1, **keys}
    lines = [f'label = "{label}"'] + [
        f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {v}"
        for k, v in values.items()
    ]
    return "[[compartment]]\n" + "\n".join(lines) + "\n"


def serial(label: str, channel: int, **keys: object) -> str:
    return compartment(label, bus="rs485", board=0, channel=channel, **keys)


def problems(write: Callable[[str], Path], text: str) -> str:
    path = write(text)
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    message = str(caught.value)
    assert all(line.startswith(f"{path}: ") for line in message.splitlines())
    return message


def test_demo_layout_has_24_cu16_compartments_and_4_on_gpio() -> None:
    layout = load_demo_layout()
    serial_places = [c for c in layout.compartments if isinstance(c.place, SerialPlace)]
    gpio_places = [c for c in layout.compartments if isinstance(c.place, GpioPlace)]
    assert len(serial_places) >= 24
    assert len(gpio_places) == 4
    assert {c.size for c in layout.compartments} == {Size.S, Size.M, Size.L}
    assert len({c.row for c in layout.compartments}) >= 3
    assert layout.buses["rs485"].protocol == "cu16"


def test_a_good_file_loads_with_defaults(layout_file: Callable[[str], Path]) -> None:
    layout = load_layout(
        layout_file(BUS + serial("A01", 0) + compartment("G01", lock_pin=17, door_pin=27))
    )
    bus = layout.buses["rs485"]
    assert bus.baud == 19200
    assert bus.boards[0].closed_when_set is True
    assert layout.compartment("A01").place == SerialPlace("rs485", 0, 0)
    gpio = layout.compartment("G01").place
    assert isinstance(gpio, GpioPlace)
    assert (gpio.pulse_ms, gpio.debounce_ms, gpio.door_pull) == (500, 20, "up")
    assert gpio.lock_active_high is True
    assert gpio.door_closed_high is False
    assert layout.compartment("A01").spec.row == 1


def test_duplicate_labels(layout_file: Callable[[str], Path]) -> None:
    message = problems(layout_file, BUS + serial("A01", 0) + serial("A01", 1))
    assert "compartment 'A01': duplicate label" in message


def test_channel_out_of_range(layout_file: Callable[[str], Path]) -> None:
    message = problems(layout_file, BUS + serial("A01", 16))
    assert "compartment 'A01': channel 16 out of range 0..15" in message


def test_channel_used_twice(layout_file: Callable[[str], Path]) -> None:
    message = problems(layout_file, BUS + serial("A01", 3) + serial("A02", 3))
    assert "compartment 'A02'" in message
    assert "already used by 'A01'" in message


def test_pin_used_twice(layout_file: Callable[[str], Path]) -> None:
    text = compartment("G01", lock_pin=17, door_pin=27) + compartment(
        "G02", lock_pin=27, door_pin=22
    )
    message = problems(layout_file, text)
    assert "compartment 'G02': pin 27 is already used by 'G01'" in message


def test_unknown_bus(layout_file: Callable[[str], Path]) -> None:
    message = problems(layout_file, BUS + compartment("A01", bus="rs232", board=0, channel=0))
    assert "compartment 'A01': unknown bus 'rs232' (known: rs485)" in message


def test_bad_size_row_and_unknown_key(layout_file: Callable[[str], Path]) -> None:
    text = BUS + serial("A01", 0, size="XL") + serial("A02", 1, row=0) + serial("A03", 2, colour=1)
    message = problems(layout_file, text)
    assert "compartment 'A01': size 'XL' is not one of S, M, L" in message
    assert "compartment 'A02': row 0" in message
    assert "compartment 'A03': unknown key 'colour'" in message


def test_undeclared_board_and_bad_protocol(layout_file: Callable[[str], Path]) -> None:
    text = BUS.replace('"cu16"', '"modbus"') + serial("A01", 0)
    assert "protocol 'modbus' is not one of cu16, xor8a" in problems(layout_file, text)
    text = BUS + compartment("A01", bus="rs485", board=3, channel=0)
    assert "compartment 'A01': board 3 is not declared on bus 'rs485'" in problems(
        layout_file, text
    )


def test_every_problem_is_reported_at_once(layout_file: Callable[[str], Path]) -> None:
    path = layout_file(BUS + serial("A01", 99) + compartment("G01", lock_pin=40, door_pin=5))
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    assert len(caught.value.problems) == 2


def test_not_toml_and_missing_file(layout_file: Callable[[str], Path], tmp_path: Path) -> None:
    assert "not valid TOML" in problems(layout_file, "[[compartment]\nlabel=")
    with pytest.raises(LayoutError, match="cannot read"):
        load_layout(tmp_path / "missing.toml")


def test_two_buses_on_one_port(layout_file: Callable[[str], Path]) -> None:
    second = BUS.replace('name = "rs485"', 'name = "second"')
    message = problems(layout_file, BUS + second + serial("A01", 0))
    assert "bus 'second': port /dev/ttyUSB0 is already bus 'rs485'" in message
