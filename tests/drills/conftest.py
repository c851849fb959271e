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
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.board_layouts import board_layout_toml

ROOT = Path(__file__).resolve().parents[2]
LOCKER = Path(sys.executable).with_name("locker")
PHONE = "+4915123450000"
BORN = "1990-05-17"
SIZES = ["S"] * 8 + ["M"] * 5 + ["L"] * 3
START_S = 20.0


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Re-check ``check`` every 50 ms (an Event's timed wait) until it is truthy; its value."""
    pause = threading.Event()
    deadline = timeout / 0.05
    tries = 0
    while True:
        value = check()
        if value:
            return value
        tries += 1
        if tries > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        pause.wait(0.05)


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

    def __init__(self, where: Path) -> None:
        self.where = where
        (where / "layout.toml").write_text(board_layout_toml(str(where / "links" / "rs485"), SIZES))
        ready = where / "ready.json"
        self.log = (where / "world.log").open("w")
        self.process = subprocess.Popen(
            [
                *(str(LOCKER), "sim", "world", "--layout", str(where / "layout.toml")),
                *("--link-dir", str(where / "links"), "--ready", str(ready)),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        wait_until(lambda: ready.exists() or self.process.poll() is not None, START_S, "world")
        assert self.process.poll() is None, (where / "world.log").read_text()
        self.info = json.loads(ready.read_text())
        self.http = Http(self.info["control"])

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
        self.http.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


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
        self.process: subprocess.Popen[bytes] | None = None
        self.http = Http(f"http://127.0.0.1:{self.port}")
        self.starts = 0

    def start(self, die_at: str | None = None) -> ControllerProcess:
        self.starts += 1
        log = (self.where / f"controller-{self.starts}.log").open("w")
        command = [sys.executable, str(ROOT / "tests/drills/controller_main.py")]
        command += ["--config", str(self.config), "--port", str(self.port)]
        if die_at:
            command += ["--die-at", die_at]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        wait_until(self._up, START_S, "the controller's start")
        key = (self.where / "data" / "drill.key").read_text()
        self.http.session.headers["Authorization"] = f"Bearer {key}"
        return self

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(self.log_text())
        try:
            return self.http.get("/healthz").status_code == 200
        except requests.ConnectionError:
            return False

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.where.glob("controller-*.log")))

    def kill(self) -> None:
        """The power cut."""
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def died(self) -> bool:
        assert self.process is not None
        return self.process.poll() is not None

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
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
        wait_until(lambda: self.sees_open(label), what=f"the controller seeing {label} open")
        self.world.put_in(label)
        self.world.close_door(label)
        wait_until(lambda: self.state_is(delivery_id, "stored"), what="stored")
        return delivery_id, label

    def collect(self, code: str) -> str:
        """A citizen's whole pickup; returns the compartment."""
        answer = self.pickup(code)
        assert answer.status_code == 200, answer.text
        label = str(answer.json()["compartment"])
        wait_until(lambda: self.sees_open(label), what=f"the controller seeing {label} open")
        self.world.take_out(label)
        self.world.close_door(label)
        return label


@pytest.fixture
def world(tmp_path: Path) -> Iterator[WorldProcess]:
    running = WorldProcess(tmp_path)
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
