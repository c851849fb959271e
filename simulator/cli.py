"""``locker sim boards``: virtual lock boards behind a pty, for a controller in another process.

::

    locker sim boards --link /tmp/locker-bus --boards 2 &
    locker hw status --port /tmp/locker-bus --board 1

Runs until SIGINT or SIGTERM, then removes the link.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from firmware_bridge.bus import PROTOCOLS, BoardSettings, BusTiming, dialect_for
from hardware.layout import BusConfig, CompartmentConfig, Layout, SerialPlace
from locker.vocabulary import Size
from simulator.sim import Simulator


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser("sim", help="simulated hardware")
    commands = sim.add_subparsers(dest="sim", required=True, metavar="COMMAND")
    boards = commands.add_parser("boards", help="run virtual lock boards behind a pty")
    boards.add_argument("--link", required=True, help="symlink to create for the pty")
    boards.add_argument("--boards", type=int, default=1, help="number of boards (default 1)")
    boards.add_argument("--protocol", choices=PROTOCOLS, default="cu16")
    boards.add_argument("--baud", type=int, help="default: 19200 for cu16, 9600 for xor8a")
    boards.add_argument("--channels", type=int, default=16, help="channels per board")
    boards.add_argument("--latency-ms", type=float, default=5.0, help="board answer latency")
    boards.set_defaults(func=cmd_boards)


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


def cmd_boards(args: argparse.Namespace) -> int:
    try:
        layout = board_layout(args.protocol, args.boards, args.channels, args.baud)
    except ValueError as err:
        print(f"locker sim: {err}", file=sys.stderr)
        return 2
    link = Path(args.link)
    if link.exists() and not link.is_symlink():
        print(f"locker sim: {link} exists and is not a symlink", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Simulator(layout, latency_ms=args.latency_ms) as sim:
            pty = sim.ports["bus"]
            if link.is_symlink():
                link.unlink()
            os.symlink(pty, link)
            try:
                addresses = sorted(sim.buses["bus"].boards)
                print(
                    f"virtual {args.protocol} boards {addresses} at {link} -> {pty}"
                    f" ({layout.buses['bus'].baud} baud); stop with Ctrl-C",
                    flush=True,
                )
                while not stop.wait(0.5):
                    pass
            finally:
                link.unlink(missing_ok=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
