"""Lock banks from a layout file: serial lock-control boards and GPIO pins (docs/hardware.md).

``hardware.gpio_bank`` (and with it gpiozero) is imported only for a layout with GPIO pins.
"""

from hardware.bank import CompositeBank, build_bank
from hardware.layout import Layout, LayoutError, load_layout, parse_layout
from hardware.serial_bank import SerialBoardBank

__all__ = [
    "CompositeBank",
    "Layout",
    "LayoutError",
    "SerialBoardBank",
    "build_bank",
    "load_layout",
    "parse_layout",
]
