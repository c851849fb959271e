"""``locker hw status`` and ``locker hw unlock``: a technician's tools for one lock board;
``locker layout check``: the layout file checked, with the reach of its compartments.

The ``hw`` commands talk straight to the board through :class:`firmware_bridge.bus.Bus` (no
layout file, no database), print JSON on stdout and, when the port is missing, the board is
silent or its reply is garbage, exit 1 with one plain line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from firmware_bridge.bus import PROTOCOLS, BoardSettings, Bus, BusTiming, dialect_for
from firmware_bridge.errors import BoardTimeout, BridgeError, FrameError, PortError
from hardware.serial_bank import outcome_of
from locker.ports import UnlockOutcome


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hw = subparsers.add_parser("hw", help="talk to one lock board directly (commissioning)")
    commands = hw.add_subparsers(dest="hw", required=True, metavar="COMMAND")
    status = commands.add_parser("status", help="read every channel of a board as JSON")
    _board_options(status)
    status.set_defaults(func=cmd_status)
    unlock = commands.add_parser("unlock", help="pulse one lock and confirm by reading it back")
    _board_options(unlock)
    unlock.add_argument("--channel", type=int, required=True, help="lock channel, from 0")
    unlock.set_defaults(func=cmd_unlock)
    identify = commands.add_parser(
        "identify", help="print a udev rule naming the plugged-in RS-485 adapter /dev/locker-bus"
    )
    identify.add_argument("--port", help="the adapter's device (default: the one USB serial port)")
    identify.add_argument("--name", default="locker-bus", help="the name under /dev")
    identify.set_defaults(func=cmd_identify)
    layout = subparsers.add_parser("layout", help="the layout file: compartments and their reach")
    checks = layout.add_subparsers(dest="layout", required=True, metavar="COMMAND")
    check = checks.add_parser(
        "check", help="check the layout; warn when no compartment of a size is within reach"
    )
    check.add_argument("file", nargs="?", help="layout file (default: hardware.layout)")
    check.add_argument("--strict", action="store_true", help="exit 1 when there is a warning")
    check.set_defaults(func=cmd_layout_check)


def _board_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", required=True, help="device path or pyserial URL (socket://…, spy://…)"
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="cu16")
    parser.add_argument("--baud", type=int, help="default: 19200 for cu16, 9600 for xor8a")
    parser.add_argument("--board", type=int, required=True, help="board address")
    parser.add_argument("--channels", type=int, default=16, help="channels of the board")
    parser.add_argument(
        "--open-when-set",
        action="store_true",
        help="the board reports a set lock bit for an open lock (default: set means closed)",
    )
    parser.add_argument("--timeout-ms", type=int, default=1000, help="reply timeout")


def udev_rule(vid: int, pid: int, serial: str | None, name: str) -> str:
    """A udev rule giving the adapter with this vendor, product (and serial) a stable name."""
    match = f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{vid:04x}", ATTRS{{idProduct}}=="{pid:04x}"'
    if serial:
        match += f', ATTRS{{serial}}=="{serial}"'
    return f'{match}, SYMLINK+="{name}", GROUP="dialout", MODE="0660"'


def cmd_identify(args: argparse.Namespace) -> int:
    """The rule for the USB serial adapter plugged in (vendor, product, serial number)."""
    from serial.tools import list_ports  # noqa: PLC0415

    found = [
        port for port in list_ports.comports() if port.vid is not None and port.pid is not None
    ]
    if args.port:
        found = [port for port in found if port.device == args.port]
    if len(found) != 1:
        listed = ", ".join(port.device for port in found) or "none"
        print(
            f"locker hw identify: {'no' if not found else 'more than one'} USB serial adapter"
            f" found ({listed}); plug in only the RS-485 adapter, or name it with --port",
            file=sys.stderr,
        )
        return 1
    port = found[0]
    assert port.vid is not None and port.pid is not None
    print(
        f"# /etc/udev/rules.d/99-locker-bus.rules: {port.description} at {port.device}"
        + ("" if port.serial_number else " (no serial number: any adapter of this model matches)")
    )
    print(udev_rule(port.vid, port.pid, port.serial_number, args.name))
    return 0


def cmd_layout_check(args: argparse.Namespace) -> int:
    """Every problem of the file (exit 2), else what it holds and the reach warnings."""
    import os  # noqa: PLC0415 - only this command reads the settings
    from pathlib import Path  # noqa: PLC0415

    from hardware.layout import LayoutError, load_layout  # noqa: PLC0415
    from hardware.reach_check import reach_report  # noqa: PLC0415
    from locker.config import PolicySection, load_settings  # noqa: PLC0415

    config = args.config or os.environ.get("LOCKER_CONFIG")
    settings = load_settings(Path(config)) if config else None
    policy = settings.policy if settings else PolicySection()
    path = args.file or (settings.hardware.layout if settings else None)
    if not path:
        print("no layout file: give one, or set hardware.layout", file=sys.stderr)
        return 2
    try:
        layout = load_layout(path)
    except LayoutError as err:
        print(err, file=sys.stderr)
        return 2
    facts, warnings = reach_report(layout, policy)
    for line in facts:
        print(f"{path}: {line}")
    for line in warnings:
        print(f"{path}: warning: {line}")
    return 1 if warnings and args.strict else 0


class _Failure(Exception):
    """A plain one-line message for the technician."""


def _bus(args: argparse.Namespace) -> Bus:
    dialect = dialect_for(args.protocol)
    if args.board not in dialect.boards:
        span = f"{dialect.boards.start}..{dialect.boards.stop - 1}"
        raise _Failure(f"board {args.board} is not a {args.protocol} address ({span})")
    if not 1 <= args.channels <= dialect.max_channels:
        raise _Failure(f"--channels must be 1..{dialect.max_channels}")
    settings = BoardSettings(args.board, args.channels, closed_when_set=not args.open_when_set)
    timing = BusTiming(
        timeout_s=args.timeout_ms / 1000, retries=1, ack_timeout_s=args.timeout_ms / 1000
    )
    bus = Bus(args.port, dialect, [settings], baud=args.baud, timing=timing)
    try:
        bus.open()
    except PortError as err:
        bus.close()
        raise _Failure(str(err)) from err
    return bus


def _explain(err: BridgeError, args: argparse.Namespace) -> str:
    board = f"board {args.board} on {args.port}"
    if isinstance(err, BoardTimeout):
        return f"{board} did not answer (check address, baud rate, protocol and wiring)"
    if isinstance(err, FrameError):
        return f"{board} sent a reply that is not valid {args.protocol}: {err}"
    return str(err)


def _run(args: argparse.Namespace, action: Any) -> int:
    try:
        bus = _bus(args)
    except _Failure as failure:
        print(f"locker hw: {failure}", file=sys.stderr)
        return 1
    try:
        return int(action(bus))
    except _Failure as failure:
        print(f"locker hw: {failure}", file=sys.stderr)
        return 1
    except BridgeError as err:
        print(f"locker hw: {_explain(err, args)}", file=sys.stderr)
        return 1
    finally:
        bus.close()


def cmd_status(args: argparse.Namespace) -> int:
    def action(bus: Bus) -> int:
        state = bus.read_status(args.board)
        channels = [
            {
                "channel": channel,
                "closed": closed,
                "item": None if state.items is None else state.items[channel],
            }
            for channel, closed in enumerate(state.closed)
        ]
        _print(
            {
                "port": args.port,
                "protocol": args.protocol,
                "board": args.board,
                "channels": channels,
            }
        )
        return 0

    return _run(args, action)


def cmd_unlock(args: argparse.Namespace) -> int:
    def action(bus: Bus) -> int:
        if not 0 <= args.channel < args.channels:
            raise _Failure(f"channel {args.channel} is not 0..{args.channels - 1}")
        report = bus.unlock(args.board, args.channel)
        outcome = outcome_of(report)
        if outcome == UnlockOutcome.NOT_SENT:
            raise _Failure(f"nothing was sent: {report.detail}")
        _print(
            {
                "port": args.port,
                "protocol": args.protocol,
                "board": args.board,
                "channel": args.channel,
                "outcome": outcome.value,
                "acknowledged": report.acknowledged,
                "closed": report.closed,
            }
        )
        if outcome == UnlockOutcome.STAYED_LOCKED:
            raise _Failure(
                f"lock {args.channel} of board {args.board} still reads closed after the pulse"
                " (jammed lock, wiring or polarity?)"
            )
        if outcome == UnlockOutcome.UNCERTAIN:
            raise _Failure(
                f"the unlock went out but board {args.board} did not confirm it ({report.detail});"
                " look at the door before trying again"
            )
        return 0

    return _run(args, action)


def _print(data: dict[str, Any]) -> None:
    print(json.dumps(data))
    sys.stdout.flush()
