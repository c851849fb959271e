"""``locker sim world``: the whole simulated world in a process of its own, for a controller in
another (the fault drills, a developer's bench).

It runs the virtual boards of a layout behind ptys (linked at ``LINK_DIR/<bus>``), the SMS
and mail stand-ins, and an HTTP control server with the ``/sim`` verbs of shared/API.md::

    locker sim world --layout bank.toml --link-dir /tmp/w --ready /tmp/w/ready.json &
    # ready.json: {"control": "http://127.0.0.1:PORT", "ports": {"rs485": "/tmp/w/rs485"},
    #              "sms": {...[sms] settings...}, "email": {...[email] settings...}}
    curl -X POST $CONTROL/sim/compartments/A01/close
    curl -X POST $CONTROL/sim/faults -d '{"kind": "jam", "target": "A02", "on": true}'

Only serial compartments live here (GPIO pins cannot cross a process boundary). Runs until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from hardware.layout import Layout, load_layout
from simulator.inbox import Inbox
from simulator.sim import Simulator
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin

MESSAGE_FAULTS = ("sms_down", "smtp_down")
_COMPARTMENT = re.compile(r"^/sim/compartments/([A-Za-z0-9_-]{1,16})/(close|force|item|open)$")


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


class ControlError(ValueError):
    """A request the world cannot carry out (answered 422)."""


class World:
    """The simulator and the stand-ins, and the verbs of the control API."""

    def __init__(self, layout: Layout, latency_ms: float = 5.0) -> None:
        self.sim = Simulator(layout, latency_ms).start()
        self.inbox = Inbox()
        self.twilio = TwilioStandin(self.inbox).start()
        self.smtp = SmtpStandin(self.inbox).start()
        self.message_faults: dict[str, bool] = dict.fromkeys(MESSAGE_FAULTS, False)

    def state(self) -> dict[str, Any]:
        state = self.sim.state()
        state["message_faults"] = sorted(k for k, on in self.message_faults.items() if on)
        return state

    def compartment(self, label: str, verb: str, body: dict[str, Any]) -> dict[str, Any]:
        if label not in self.sim.world.labels:
            raise ControlError(f"There is no compartment {label!r} in the simulated bank.")
        if verb == "close":
            self.sim.close_door(label)
        elif verb == "force":
            self.sim.force_door(label)
        elif verb == "open":
            self.sim.open_door(label)
        else:
            if not self.sim.door_open(label):
                raise ControlError(f"The door of {label} is closed; open it first.")
            self.sim.set_item(label, bool(body.get("present")))
        return self.state()

    def fault(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, target, on = str(body.get("kind")), str(body.get("target", "")), bool(body.get("on"))
        if kind in MESSAGE_FAULTS:
            standin = self.twilio if kind == "sms_down" else self.smtp
            standin.set_down(on)
            self.message_faults[kind] = on
        else:
            try:
                self.sim.set_fault(kind, target, on)
            except (ValueError, KeyError) as err:
                raise ControlError(str(err).strip("'\"")) from None
        return self.state()

    def ready(self, control: str, ports: dict[str, str]) -> dict[str, Any]:
        return {
            "control": control,
            "ports": ports,
            "sms": self.twilio.settings(),
            "email": self.smtp.settings(),
        }

    def close(self) -> None:
        self.twilio.close()
        self.smtp.close()
        self.sim.close()


def _handler(world: World) -> type[BaseHTTPRequestHandler]:
    routes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
        ("GET", "/sim/state"): lambda _body: world.state(),
        ("GET", "/sim/messages"): lambda _body: world.inbox.to_list(),
        ("POST", "/sim/faults"): world.fault,
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                route = routes.get((method, self.path))
                found = _COMPARTMENT.match(self.path)
                if route is not None:
                    status, answer = 200, route(body)
                elif found and method == "POST":
                    status, answer = 200, world.compartment(found[1], found[2], body)
                else:
                    status, answer = 404, {"error": "not_found", "detail": self.path}
            except (ControlError, ValueError) as err:
                status, answer = 422, {"error": "invalid", "detail": str(err)}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from simulator.scenario_cli import sim_commands  # noqa: PLC0415 - one `locker sim` group

    world = sim_commands(subparsers).add_parser(
        "world", help="virtual boards, SMS and mail stand-ins and an HTTP control API"
    )
    world.add_argument("--layout", required=True, type=Path, help="layout file (TOML)")
    world.add_argument("--link-dir", required=True, type=Path, help="where to link the ptys")
    world.add_argument("--ready", type=Path, help="write the addresses here (JSON) once up")
    world.add_argument("--port", type=int, default=0, help="control port (default: any free)")
    world.add_argument("--latency-ms", type=float, default=5.0, help="board answer latency")
    world.set_defaults(func=cmd_world)


def cmd_world(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    world = World(load_layout(args.layout), args.latency_ms)
    links: list[Path] = []
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(world))
    thread = threading.Thread(target=server.serve_forever, name="sim-control", daemon=True)
    try:
        args.link_dir.mkdir(parents=True, exist_ok=True)
        ports = {}
        for bus, pty in world.sim.ports.items():
            link = args.link_dir / bus
            link.unlink(missing_ok=True)
            os.symlink(pty, link)
            links.append(link)
            ports[bus] = str(link)
        thread.start()
        control = f"http://127.0.0.1:{server.server_address[1]}"
        ready = json.dumps(world.ready(control, ports))
        if args.ready:
            temporary = args.ready.with_suffix(".tmp")
            temporary.write_text(ready)
            os.replace(temporary, args.ready)
        print(ready, flush=True)
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        for link in links:
            link.unlink(missing_ok=True)
        world.close()
    return 0
