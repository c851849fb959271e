"""``locker serve`` as a process of its own, against a simulated world in the benchmark's process.

This is how a Pi runs it: the controller alone in its process, the boards on the other side of
a serial line. Here the boards are virtual (:func:`simulator.world.build_world`, with the SMS
stand-in) and live in the benchmark's process, so whatever the controller's process uses — CPU
time, memory, start-up — is the controller's alone, and the benchmark sees each unlock frame
arrive at a virtual board on the same monotonic clock as its own requests.

:class:`Served` writes a layout file that points at the world's ptys and a config file, runs
``locker db upgrade`` and ``locker apikey create`` would (a clerk key for announcing and loading),
spawns ``locker serve`` and waits for ``/healthz``. :class:`Kiosk` drives it as the office and
the citizens do: announce and load over the API, put the document in and close the door in the
world, read the code from the SMS, collect it over the API, take it out and close the door.
GPIO compartments are left out: their mock pins exist only in the process that made them.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from firmware_bridge import cu16
from firmware_bridge.bus import dialect_for, wire_time
from hardware.layout import Layout, SerialPlace
from locker import migrate
from locker.clock import SystemClock
from locker.config import load_settings
from locker.core import Core
from locker.db import make_engine
from locker.services.accounts import create_api_key
from locker.vocabulary import Role
from simulator.inbox import Entry
from simulator.readiness import NotifySocket
from simulator.virtual_hardware import load_demo_layout
from simulator.world import SimulatedWorld, build_world

LOCKER = str(Path(sys.executable).with_name("locker"))


def serial_part(layout: Layout) -> Layout:
    """``layout`` without its GPIO compartments (mock pins cannot be shared between processes)."""
    kept = tuple(c for c in layout.compartments if isinstance(c.place, SerialPlace))
    return replace(layout, compartments=kept)


def demo_bank() -> Layout:
    """The demo's bank as another process can drive it: its two CU16 boards, 24 compartments."""
    return serial_part(load_demo_layout())


def layout_toml(layout: Layout) -> str:
    """The text of a layout file for ``layout`` (serial compartments only)."""
    lines = [f"[bank]\nname = {json.dumps(layout.name)}\n"]
    lines.append(f"lock_fault_after_s = {layout.lock_fault_after_s}\n")
    for bus in layout.buses.values():
        t = bus.timing
        lines += [
            f"[[bus]]\nname = {json.dumps(bus.name)}\nport = {json.dumps(bus.port)}",
            f"protocol = {json.dumps(bus.protocol)}\nbaud = {bus.baud}\npoll_ms = {bus.poll_ms}",
            f"timeout_ms = {t.timeout_s * 1000:g}\nretries = {t.retries}",
            f"ack_timeout_ms = {t.ack_timeout_s * 1000:g}",
            f"offline_poll_ms = {t.offline_poll_s * 1000:g}\n",
        ]
        for board in bus.boards:
            lines.append(
                f"[[bus.board]]\naddress = {board.address}\nchannels = {board.channels}\n"
                f"closed_when_set = {str(board.closed_when_set).lower()}\n"
                f"item_when_set = {str(board.item_when_set).lower()}\n"
            )
    for c in layout.compartments:
        assert isinstance(c.place, SerialPlace)
        lines.append(
            f"[[compartment]]\nlabel = {json.dumps(c.label)}\nsize = {json.dumps(str(c.size))}\n"
            f"row = {c.row}\nbus = {json.dumps(c.place.bus)}\nboard = {c.place.board}\n"
            f"channel = {c.place.channel}\n"
        )
    return "\n".join(lines)


def _toml_table(name: str, values: dict[str, Any]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unlock_floor_ms(layout: Layout, latency_ms: float) -> float:
    """The least an unlock can take: its frame's wire time at the bus's baud + board latency."""
    baud = next(iter(layout.buses.values())).baud
    return wire_time(len(cu16.unlock_request(0, 0).encode()), baud) * 1000 + latency_ms


class Served:
    """``locker serve`` in its own process against ``world`` (which this process runs).

    ``settings``: extra sections of the controller's config file, e.g.
    ``{"kiosk": {"camera_frames_per_s": 100}}``.
    """

    def __init__(
        self,
        workdir: Path,
        layout: Layout,
        *,
        latency_ms: float = 5.0,
        settings: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.workdir = workdir
        self.latency_ms = latency_ms
        self.world: SimulatedWorld = build_world(
            layout, latency_ms=latency_ms, with_bank=False, email=False
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._kiosk: Kiosk | None = None
        try:
            self.config = self._write_config(settings or {})
            self.api_key = self._prepare_database()
        except BaseException:
            self.world.close()
            raise

    def _write_config(self, extra: dict[str, dict[str, Any]]) -> Path:
        layout_file = self.workdir / "layout.toml"
        layout_file.write_text(layout_toml(self.world.hardware.controller_layout()))
        self.port = free_port()
        sections: dict[str, dict[str, Any]] = {
            "locker": {
                "secret_key": secrets.token_urlsafe(48),
                "bank_id": "bench",
                "data_dir": str(self.workdir / "data"),
            },
            "hardware": {"backend": "layout", "layout": str(layout_file)},
            "kiosk": {"port": self.port},
            **self.world.standin_settings(),
        }
        for section, values in extra.items():
            sections[section] = sections.get(section, {}) | values
        config = self.workdir / "locker.toml"
        config.write_text("\n".join(_toml_table(k, v) for k, v in sections.items()))
        return config

    def _prepare_database(self) -> str:
        """What ``locker db upgrade`` and ``locker apikey create bench --role clerk`` do, in
        this process (two fewer interpreters to start); the clerk key for the office."""
        settings = load_settings(self.config, environ={})
        engine = make_engine(settings.database_url)
        try:
            migrate.upgrade(engine)
            core = Core(engine, SystemClock(), settings)
            return create_api_key(core, "bench", frozenset({Role.CLERK}), actor="bench")
        finally:
            engine.dispose()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.pid

    def start(self, timeout: float = 60.0) -> float:
        """Spawn ``locker serve``; the seconds until it said ``READY=1`` (sd_notify, as systemd
        hears it: database checked, bank reconciled, listeners bound) and ``/healthz`` answered."""
        started = time.monotonic()
        notify = NotifySocket("locker-bench")
        log = (self.workdir / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [LOCKER, "--config", str(self.config), "serve"],
            stdout=log,
            stderr=log,
            env=notify.environ(),
        )
        log.close()
        try:
            ready = notify.wait_ready(self.process, timeout)
        finally:
            notify.close()
        if not ready and self.process.poll() is not None:
            raise RuntimeError(f"locker serve ended; see {self.workdir / 'serve.log'}")
        if not ready:
            raise TimeoutError(f"locker serve did not say READY=1 within {timeout} s")
        if not self._healthy():
            raise RuntimeError(f"locker serve is ready but /healthz is not 200; see {log.name}")
        return time.monotonic() - started

    def _healthy(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    @property
    def kiosk(self) -> Kiosk:
        """The office and the citizens at this controller (closed with it)."""
        if self._kiosk is None:
            self._kiosk = Kiosk(self)
        return self._kiosk

    def hang_up(self) -> None:
        """Close the kiosk's connections (its next request opens them again): what a benchmark
        handed a shared server opened is closed when it is done."""
        if self._kiosk is not None:
            self._kiosk.close()

    def close(self) -> None:
        try:
            self.hang_up()
            self.stop()
        finally:
            self.world.close()


_SHARING: list[tuple[ExitStack, dict[str, Served]]] = []
"""The open :func:`shared_servers`, if any: what ends their servers, and the servers by key."""


@contextmanager
def shared_servers(start: Iterable[Mapping[str, Any]] = ()) -> Iterator[None]:
    """While open, :func:`served` called with the same layout and options hands out one running
    server rather than starting one per call; every server ends when this does. The servers for
    the :func:`served` options in ``start`` are started at once, before any benchmark asks for
    them: their threads and sockets (the world's bus and stand-ins) are this context's from its
    start, not of whichever benchmark asked first (tests/leaks.py counts them against a test).

    For tests/benchmarks/test_smoke.py, which proves that each benchmark runs and gives its
    figures, not what a fresh process measures (start-up is the ``startup`` benchmark's own
    figure, which starts its own). ``locker bench`` never shares: there each benchmark's
    figures are of a process of its own.
    """
    with ExitStack() as stack:
        _SHARING.append((stack, {}))
        try:
            for options in start:
                with served(**options):
                    pass
            yield
        finally:
            _SHARING.pop()


@contextmanager
def served(layout: Layout | None = None, **options: Any) -> Iterator[Served]:
    """A started :class:`Served` (the demo's bank by default) in a scratch directory, or the
    running one of :func:`shared_servers` for the same layout and options."""
    if not _SHARING:
        with _started(layout, **options) as server:
            yield server
        return
    stack, running = _SHARING[-1]
    key = repr((layout, sorted(options.items())))
    if key not in running:
        running[key] = stack.enter_context(_started(layout, **options))
    try:
        yield running[key]
    finally:
        running[key].hang_up()


@contextmanager
def _started(layout: Layout | None, **options: Any) -> Iterator[Served]:
    with tempfile.TemporaryDirectory(prefix="locker-bench-") as scratch:
        server = Served(Path(scratch), layout or demo_bank(), **options)
        try:
            server.start()
            yield server
        finally:
            server.close()


# --------------------------------------------------------------------------- driving it


class ApiError(RuntimeError):
    pass


class Client:
    """One kept-alive HTTP/1.1 connection, as the kiosk's browser keeps one."""

    def __init__(self, base: str, api_key: str | None = None) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def post(self, path: str, body: bytes | dict[str, Any], content_type: str = "") -> Any:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {**self.headers, "Content-Type": content_type or "application/json"}
        try:
            self.connection.request("POST", path, data, headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # uvicorn closes a connection idle for 5 s before it reads a request on it
            self.connection.close()
            self.connection.request("POST", path, data, headers)
            response = self.connection.getresponse()
        answer = json.loads(response.read())
        if response.status >= 300:
            raise ApiError(f"POST {path}: {response.status} {answer}")
        return answer

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class Stored:
    delivery_id: str
    label: str
    phone: str
    code: str


class Kiosk:
    """The office and the citizens at a :class:`Served` controller, waiting on real events only.

    Every change of the world's doors and every message the SMS stand-in accepts wakes it;
    ``on_wire`` holds the moment (``time.monotonic``) each unlock frame was fully on the wire.
    """

    def __init__(self, server: Served) -> None:
        self.server = server
        self.world = server.world
        self.office = Client(server.base, server.api_key)
        self.citizen = Client(server.base)
        self.changed = threading.Condition()
        self.messages: dict[str, list[Entry]] = {}
        self.message_at: dict[str, list[float]] = {}
        self.on_wire: list[float] = []
        self.status_reads: dict[str, int] = {}
        self.per_sweep = {
            name: len(dialect_for(bus.protocol).sweep([b.address for b in bus.boards]))
            for name, bus in self.world.layout.buses.items()
        }
        self._read = 0
        self._numbers = iter(range(10**9))
        self.world.hardware.physics.listen(lambda _label: self.poke())
        self.world.inbox.watch(self._message)
        for name, bus in self.world.hardware.buses.items():
            self.status_reads[name] = 0
            bus.observers.append(functools.partial(self._frame, name))

    def poke(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _message(self) -> None:
        now = time.perf_counter()
        with self.changed:
            for entry in self.world.inbox.since(self._read):
                self._read += 1
                self.messages.setdefault(entry["to"], []).append(entry)
                self.message_at.setdefault(entry["to"], []).append(now)
            self.changed.notify_all()

    def _frame(self, bus: str, frame: bytes, when: float) -> None:
        with self.changed:
            if frame[2] == cu16.Command.UNLOCK:
                self.on_wire.append(when)
            elif frame[2] in (cu16.Command.STATUS, cu16.Command.STATUS_ALL):
                self.status_reads[bus] += 1
            self.changed.notify_all()

    def swept_twice(self) -> None:
        """Until every bus has had two whole sweeps: what the doors showed before, the
        controller has seen (a door opened and shut between two sweeps is never seen)."""
        with self.changed:
            marks = dict(self.status_reads)
        self.until(
            lambda: all(
                self.status_reads[bus] >= marks[bus] + 2 * self.per_sweep[bus] for bus in marks
            )
        )

    def until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        with self.changed:
            if not self.changed.wait_for(condition, timeout):
                raise TimeoutError("the simulated locker did not get there in time")

    def door_open(self, label: str) -> bool:
        return self.world.hardware.door_open(label)

    def announce(self) -> tuple[str, str]:
        """A new delivery announced over the API: its id and the citizen's phone."""
        n = next(self._numbers)
        phone = f"+49151{n:08d}"
        body = {
            "reference": f"BENCH-{os.getpid()}-{n}",
            "document_type": "other",
            "recipient": {"name": "Erika Mustermann", "phone": phone},
        }
        return str(self.office.post("/api/v1/deliveries", body)["id"]), phone

    def announce_many(self, count: int) -> list[tuple[str, str]]:
        return [self.announce() for _ in range(count)]

    def load(self, announced: Sequence[tuple[str, str]]) -> list[Stored]:
        """Announced documents loaded and stored, with the codes from their SMS."""
        loading = []
        for delivery_id, phone in announced:
            answer = self.office.post(f"/api/v1/deliveries/{delivery_id}/load", b"{}")
            loading.append((delivery_id, str(answer["compartment"]), phone))
        self.close_doors([label for _d, label, _p in loading], item=True)
        self.until(lambda: all(len(self.messages.get(p, [])) >= 1 for _d, _l, p in loading))
        return [
            Stored(d, label, phone, str(self.messages[phone][0]["code"]))
            for d, label, phone in loading
        ]

    def close_doors(self, labels: Sequence[str], *, item: bool) -> None:
        """Once each door is open: put the document in (or take it out) and close it."""
        self.until(lambda: all(self.door_open(label) for label in labels))
        self.swept_twice()
        for label in labels:
            self.world.hardware.set_item(label, item)
            self.world.hardware.close_door(label)

    def pickup(self, code: str) -> str:
        """The citizen types the code: the compartment the controller opens."""
        return str(self.citizen.post("/api/v1/pickup", {"code": code})["compartment"])

    def to_the_wire(self, ask: Callable[[], str]) -> tuple[str, float]:
        """``ask()`` (a pickup over HTTP) and the seconds from asking to the unlock frame
        being fully on the wire: the compartment and that time."""
        with self.changed:
            self.on_wire.clear()
        started = time.monotonic()
        label = ask()
        self.until(lambda: bool(self.on_wire))
        return label, self.on_wire[0] - started

    def collect(
        self, stored: Sequence[Stored], pickup: Callable[[Stored], str] | None = None
    ) -> None:
        """Each document collected (``pickup`` by default: its code typed), the document taken
        out, the door closed, the citizen's confirmation SMS received."""
        for one in stored:
            label = pickup(one) if pickup else self.pickup(one.code)
            if label != one.label:
                raise RuntimeError(f"the code of {one.label} opened {label}")
        self.close_doors([one.label for one in stored], item=False)
        self.until(lambda: all(len(self.messages[one.phone]) >= 2 for one in stored))

    def cycles(self, count: int, pickup: Callable[[Stored], str] | None = None) -> None:
        """``count`` documents loaded and collected, a bank's worth at a time."""
        done = 0
        while done < count:
            stored = self.load(self.announce_many(min(len(self.world.labels), count - done)))
            self.collect(stored, pickup)
            done += len(stored)

    def close(self) -> None:
        self.office.close()
        self.citizen.close()
