"""Lock banks from a layout file: serial lock-control boards and GPIO pins (docs/hardware.md)."""

from hardware.bank import CompositeBank, build_bank
from hardware.gpio_bank import GpioBank
from hardware.layout import Layout, LayoutError, load_layout, parse_layout
from hardware.serial_bank import SerialBoardBank

__all__ = [
    "CompositeBank",
    "GpioBank",
    "Layout",
    "LayoutError",
    "SerialBoardBank",
    "build_bank",
    "load_layout",
    "parse_layout",
]
