"""Layouts of plain virtual boards, for ``locker sim boards``, drills, scenarios and benchmarks.

:func:`board_layout` builds a :class:`~hardware.layout.Layout` of ``N`` boards with one
compartment per channel; :func:`board_layout_toml` writes the text of a layout file for one CU16
board at a given port, so a world and a controller in two processes can share it.
"""

from __future__ import annotations

from firmware_bridge.bus import BoardSettings, BusTiming, dialect_for
from hardware.layout import BusConfig, CompartmentConfig, Layout, SerialPlace
from locker.vocabulary import Size


def board_layout(protocol: str, boards: int, channels: int, baud: int | None) -> Layout:
    """A bus of ``boards`` boards with one compartment per channel: A01…, B01…"""
    dialect = dialect_for(protocol)
    addresses = list(dialect.boards)[:boards]
    if len(addresses) != boards or boards < 1:
        raise ValueError(f"{protocol} allows 1..{len(dialect.boards)} boards on a bus")
    if not 1 <= channels <= dialect.max_channels:
        raise ValueError(f"{protocol} boards have 1..{dialect.max_channels} channels")
    bus = BusConfig(
        "bus",
        "",
        protocol,
        baud or dialect.default_baud,
        tuple(BoardSettings(address, channels) for address in addresses),
        BusTiming(),
    )
    compartments = tuple(
        CompartmentConfig(
            f"{chr(ord('A') + index)}{channel + 1:02d}",
            Size.M,
            channel // 4 + 1,
            SerialPlace("bus", address, channel),
        )
        for index, address in enumerate(addresses)
        for channel in range(channels)
    )
    return Layout(compartments, {"bus": bus}, "virtual boards")


def board_layout_toml(port: str, sizes: list[str], *, poll_ms: int = 50) -> str:
    """A layout file for one CU16 board at ``port`` (19200 baud), compartments ``A01``… sized
    by ``sizes`` — for a world and a controller in two processes to share."""
    lines = [
        '[bank]\nname = "virtual"\nlock_fault_after_s = 3\n',
        f'[[bus]]\nname = "rs485"\nport = "{port}"\nprotocol = "cu16"\nbaud = 19200',
        f"timeout_ms = 200\nretries = 2\npoll_ms = {poll_ms}\noffline_poll_ms = 200\n",
        "[[bus.board]]\naddress = 0\nchannels = 16\n",
    ]
    for channel, size in enumerate(sizes):
        lines.append(
            f'[[compartment]]\nlabel = "A{channel + 1:02d}"\nsize = "{size}"\n'
            f'row = {channel % 4 + 1}\nbus = "rs485"\nboard = 0\nchannel = {channel}\n'
        )
    return "\n".join(lines)
