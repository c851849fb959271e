"""``locker sim``: the simulated world from the command line (loaded only when invoked).

::

    locker sim boards --link /tmp/locker-bus --boards 2 &     # virtual boards behind a pty
    locker hw status --port /tmp/locker-bus --board 1

    locker sim world --layout bank.toml --link-dir /tmp/w --ready /tmp/w/ready.json &
    # ready.json: {"control": "http://127.0.0.1:PORT", "ports": {"rs485": "/tmp/w/rs485"},
    #              "sms": {...[sms] settings...}, "email": {...[email] settings...}}
    curl -X POST $CONTROL/sim/compartments/A01/close

    locker sim run week                      # 300 deliveries, faults, chart in week.png
    locker sim run my.toml --chart out.png   # keys of simulator.scenario_spec.ScenarioSpec

``boards`` and ``world`` run until SIGINT or SIGTERM, then remove their links. ``world`` is the
same :class:`~simulator.world.SimulatedWorld` and the same ``/sim`` surface as ``locker demo``,
without the controller (only serial compartments: GPIO pins cannot cross a process boundary).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path

from firmware_bridge.bus import PROTOCOLS
from runtime.signals import until_signalled


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser("sim", help="the simulated world (boards, doors, messages)")
    commands = sim.add_subparsers(dest="sim", required=True, metavar="COMMAND")
    boards = commands.add_parser("boards", help="run virtual lock boards behind a pty")
    boards.add_argument("--link", required=True, help="symlink to create for the pty")
    boards.add_argument("--boards", type=int, default=1, help="number of boards (default 1)")
    boards.add_argument("--protocol", choices=PROTOCOLS, default="cu16")
    boards.add_argument("--baud", type=int, help="default: 19200 for cu16, 9600 for xor8a")
    boards.add_argument("--channels", type=int, default=16, help="channels per board")
    boards.add_argument("--latency-ms", type=float, default=5.0, help="board answer latency")
    boards.set_defaults(func=cmd_boards)

    world = commands.add_parser(
        "world", help="virtual boards, SMS and mail stand-ins and the /sim control API"
    )
    world.add_argument("--layout", required=True, type=Path, help="layout file (TOML)")
    world.add_argument("--link-dir", required=True, type=Path, help="where to link the ptys")
    world.add_argument("--ready", type=Path, help="write the addresses here (JSON) once up")
    world.add_argument("--port", type=int, default=0, help="control port (default: any free)")
    world.add_argument("--latency-ms", type=float, default=5.0, help="board answer latency")
    world.set_defaults(func=cmd_world)

    run = commands.add_parser("run", help="run a simulated period and report what happened")
    run.add_argument("scenario", help="week, day, quiet-week, or a TOML file")
    run.add_argument("--chart", type=Path, help="occupancy chart PNG (default: SCENARIO.png)")
    run.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    run.add_argument("--json", action="store_true", help="print the report as one JSON object")
    run.set_defaults(func=cmd_run)


def _link(link: Path, target: str) -> None:
    if link.exists() and not link.is_symlink():
        raise _Refused(f"{link} exists and is not a symlink")
    link.unlink(missing_ok=True)
    os.symlink(target, link)


class _Refused(Exception):
    """A plain one-line reason the command cannot run (exit 1)."""


def cmd_boards(args: argparse.Namespace) -> int:
    from simulator.board_layouts import board_layout  # noqa: PLC0415
    from simulator.virtual_hardware import VirtualHardware  # noqa: PLC0415

    try:
        layout = board_layout(args.protocol, args.boards, args.channels, args.baud)
    except ValueError as err:
        print(f"locker sim: {err}", file=sys.stderr)
        return 2
    link = Path(args.link)
    with until_signalled() as stop, VirtualHardware(layout, latency_ms=args.latency_ms) as sim:
        pty = sim.ports["bus"]
        try:
            _link(link, pty)
        except _Refused as err:
            print(f"locker sim: {err}", file=sys.stderr)
            return 1
        try:
            addresses = sorted(sim.buses["bus"].boards)
            print(
                f"virtual {args.protocol} boards {addresses} at {link} -> {pty}"
                f" ({layout.buses['bus'].baud} baud); stop with Ctrl-C",
                flush=True,
            )
            stop.wait()
        finally:
            link.unlink(missing_ok=True)
    return 0


def cmd_world(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from hardware.layout import load_layout  # noqa: PLC0415
    from simulator.control import control_app  # noqa: PLC0415
    from simulator.world import build_world  # noqa: PLC0415

    world = build_world(load_layout(args.layout), latency_ms=args.latency_ms, with_bank=False)
    links: list[Path] = []
    listener = socket.socket()
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", args.port))
        listener.listen(64)
        args.link_dir.mkdir(parents=True, exist_ok=True)
        ports = {}
        for bus, pty in world.hardware.ports.items():
            link = args.link_dir / bus
            _link(link, pty)
            links.append(link)
            ports[bus] = str(link)
        control = f"http://127.0.0.1:{listener.getsockname()[1]}"
        ready = json.dumps({"control": control, "ports": ports, **world.standin_settings()})
        if args.ready:
            temporary = args.ready.with_suffix(".tmp")
            temporary.write_text(ready)
            os.replace(temporary, args.ready)
        print(ready, flush=True)
        config = uvicorn.Config(
            control_app(world), log_level="warning", access_log=False, proxy_headers=False
        )
        with until_signalled():
            uvicorn.Server(config).run(sockets=[listener])  # until SIGINT or SIGTERM
    except _Refused as err:
        print(f"locker sim world: {err}", file=sys.stderr)
        return 1
    finally:
        listener.close()
        for link in links:
            link.unlink(missing_ok=True)
        world.close()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from dataclasses import replace  # noqa: PLC0415

    from simulator.scenario import run_scenario  # noqa: PLC0415 - heavy imports on demand
    from simulator.scenario_spec import load_spec  # noqa: PLC0415

    try:
        spec = load_spec(args.scenario)
    except (ValueError, TypeError) as err:
        print(f"locker sim run: {err}", file=sys.stderr)
        return 2
    if args.seed is not None:
        spec = replace(spec, seed=args.seed)
    chart = args.chart or Path(f"{spec.name}.png")
    result = run_scenario(spec, chart=chart)
    print(json.dumps(result.as_dict(), indent=2) if args.json else result.report())
    return 0
