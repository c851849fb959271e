"""Fault drills: the controller in its own process, the simulated world in another.

``world``: ``locker sim world`` (virtual CU16 board on a pty, SMS and mail stand-ins, control
API). ``controller``: ``tests/drills/controller_main.py`` on a SQLite file in the test's
directory, its layout pointing at the world's pty link. A drill kills the controller with
SIGKILL, starts it again on the same files, and checks what reconciliation made of it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.board_layouts import board_layout_toml

from ..processes import Child
from ..sse import StreamListener
from ..waiting import WAIT_S, Changes

ROOT = Path(__file__).resolve().parents[2]
LOCKER = Path(sys.executable).with_name("locker")
PHONE = "+4915123450000"
BORN = "1990-05-17"
SIZES = ["S"] * 8 + ["M"] * 5 + ["L"] * 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def toml_of(sections: dict[str, dict[str, Any]]) -> str:
    out = []
    for name, values in sections.items():
        out.append(f"[{name}]")
        out += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(out) + "\n"


class Http:
    """A requests session on one base address (the twilio client's own HTTP library)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base + path, timeout=15)

    def post(self, path: str, json: dict[str, Any] | None = None) -> requests.Response:
        return self.session.post(self.base + path, json=json or {}, timeout=15)

    def close(self) -> None:
        self.session.close()


class WorldProcess:
    """The simulator process and its control API."""

    def __init__(self, where: Path, changes: Changes) -> None:
        self.where = where
        self.changes = changes
        (where / "layout.toml").write_text(board_layout_toml(str(where / "links" / "rs485"), SIZES))
        self.child = Child(
            [
                *(str(LOCKER), "sim", "world", "--layout", str(where / "layout.toml")),
                *("--link-dir", str(where / "links")),
            ],
            where / "world.log",
            changes,
        )
        self.process = self.child.process
        ready = self.child.wait_started(
            lambda: next((line for line in self.child.lines if line.startswith("{")), None),
            "the world's start (its addresses on stdout)",
        )
        self.info = json.loads(ready)
        self.http = Http(self.info["control"])
        self.stream = StreamListener(self.info["control"], "/sim/stream", changes=changes)
        self.stream.connected()

    def wait_until(self, check: Callable[[], Any], timeout: float = WAIT_S, what: str = "") -> Any:
        """``check()``'s first truthy value, re-checked on every change of the world or the
        controller (their event streams), never on a timer."""
        return self.changes.wait_for(check, timeout, what)

    def state(self, label: str) -> dict[str, Any]:
        compartments = self.http.get("/sim/state").json()["compartments"]
        return next(c for c in compartments if c["label"] == label)

    def pulses(self, label: str) -> int:
        return int(self.state(label)["pulses"])

    def act(self, label: str, verb: str, **body: Any) -> None:
        answer = self.http.post(f"/sim/compartments/{label}/{verb}", json=body)
        assert answer.status_code == 200, answer.text

    def put_in(self, label: str) -> None:
        self.act(label, "item", present=True)

    def take_out(self, label: str) -> None:
        self.act(label, "item", present=False)

    def close_door(self, label: str) -> None:
        self.act(label, "close")

    def fault(self, kind: str, target: str = "", on: bool = True) -> None:
        answer = self.http.post("/sim/faults", json={"kind": kind, "target": target, "on": on})
        assert answer.status_code == 200, answer.text

    def messages(self, to: str = PHONE) -> list[dict[str, Any]]:
        return [m for m in self.http.get("/sim/messages").json() if m["to"] == to]

    def codes(self, to: str = PHONE) -> list[str]:
        return [m["code"] for m in self.messages(to) if m["code"]]

    def close(self) -> None:
        self.stream.close()
        self.http.close()
        self.child.stop(signal.SIGTERM, 10)
        self.child.close()


class ControllerProcess:
    """The controller, started and killed at will on the same files."""

    def __init__(self, where: Path, world: WorldProcess) -> None:
        self.where = where
        self.world = world
        self.port = free_port()
        self.config = where / "locker.toml"
        self.config.write_text(
            toml_of(
                {
                    "locker": {
                        "secret_key": secrets.token_urlsafe(48),
                        "bank_id": "drill",
                        "data_dir": str(where / "data"),
                        "location": "Rathaus",
                    },
                    "hardware": {
                        "backend": "layout",
                        "layout": str(where / "layout.toml"),
                        "door_open_alarm_s": 300.0,
                    },
                    "notify": {"poll_interval_s": 0.1, "backoff_base_s": 30.0},
                    "sms": world.info["sms"],
                    "email": {"enabled": False},
                }
            )
        )
        self.child: Child | None = None
        self.stream: StreamListener | None = None
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = Http(self.base)
        self.starts = 0

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self.child is not None
        return self.child.process

    def wait_until(self, check: Callable[[], Any], timeout: float = WAIT_S, what: str = "") -> Any:
        return self.world.wait_until(check, timeout, what)

    def start(self, die_at: str | None = None) -> ControllerProcess:
        self._forget()
        self.starts += 1
        command = [sys.executable, str(ROOT / "tests/drills/controller_main.py")]
        command += ["--config", str(self.config), "--port", str(self.port)]
        if die_at:
            command += ["--die-at", die_at]
        log = self.where / f"controller-{self.starts}.log"
        self.child = Child(command, log, self.world.changes, notify=True)
        self.child.wait_started(lambda: self.child and self.child.ready, "READY=1")
        key = (self.where / "data" / "drill.key").read_text()
        self.http.session.headers["Authorization"] = f"Bearer {key}"
        self.stream = StreamListener(
            self.base,
            "/api/v1/stream",
            {"Authorization": f"Bearer {key}"},
            self.world.changes,
            reconnect=True,
        )
        self.stream.connected()
        return self

    def _forget(self) -> None:
        """Let go of the last run's stream and output (the process has ended)."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if self.child is not None:
            self.child.close()

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.where.glob("controller-*.log")))

    def kill(self) -> None:
        """The power cut."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def died(self) -> bool:
        return self.child is not None and self.child.died()

    def close(self) -> None:
        if self.stream is not None:  # hang up first: a stopping server waits for open streams
            self.stream.close()
            self.stream = None
        if self.child is not None:
            self.child.stop(signal.SIGTERM, 15)
        self._forget()
        self.http.close()

    # -- the API ---------------------------------------------------------------------

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return self.http.post(path, body)

    def get(self, path: str) -> Any:
        answer = self.http.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def announce(self, reference: str, phone: str = PHONE) -> str:
        answer = self.post(
            "/api/v1/deliveries",
            {
                "reference": reference,
                "document_type": "passport",
                "recipient": {"name": "Erika", "phone": phone, "date_of_birth": BORN},
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/deliveries/{delivery_id}"))

    def compartment(self, label: str) -> dict[str, Any]:
        return next(c for c in self.get("/api/v1/compartments") if c["label"] == label)

    def sees_open(self, label: str) -> bool:
        return self.compartment(label)["door"] == "open"

    def state_is(self, delivery_id: str, *states: str) -> bool:
        return self.delivery(delivery_id)["state"] in states

    def alerts(self, kind: str) -> list[dict[str, Any]]:
        events = self.get("/api/v1/events?limit=1000")
        rows = events["events"] if isinstance(events, dict) else events
        return [e for e in rows if e["kind"] == kind and e.get("alert")]

    def pickup(self, code: str) -> requests.Response:
        return self.post("/api/v1/pickup", {"code": code, "date_of_birth": BORN})

    def load(self, reference: str, phone: str = PHONE) -> tuple[str, str]:
        """Announce, load, put the document in, close; (delivery id, compartment) once stored."""
        delivery_id = self.announce(reference, phone)
        answer = self.post(f"/api/v1/deliveries/{delivery_id}/load")
        assert answer.status_code == 202, answer.text
        label = str(answer.json()["compartment"])
        self.wait_until(lambda: self.sees_open(label), what=f"the controller seeing {label} open")
        self.world.put_in(label)
        self.world.close_door(label)
        self.wait_until(lambda: self.state_is(delivery_id, "stored"), what="stored")
        return delivery_id, label

    def collect(self, code: str) -> str:
        """A citizen's whole pickup; returns the compartment."""
        answer = self.pickup(code)
        assert answer.status_code == 200, answer.text
        label = str(answer.json()["compartment"])
        self.wait_until(lambda: self.sees_open(label), what=f"the controller seeing {label} open")
        self.world.take_out(label)
        self.world.close_door(label)
        return label


@pytest.fixture
def world(tmp_path: Path) -> Iterator[WorldProcess]:
    running = WorldProcess(tmp_path, Changes())
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def controller(tmp_path: Path, world: WorldProcess) -> Iterator[ControllerProcess]:
    process = ControllerProcess(tmp_path, world)
    try:
        yield process
    finally:
        process.close()
