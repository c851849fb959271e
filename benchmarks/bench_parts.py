"""Two figures of ``locker bench`` that need a controller of their own: memory after 1,000
pickups and start-up time. Each runs in a fresh process, so neither measures the benchmark.

* :func:`rss_after_pickups` (run as ``python -m benchmarks.bench_parts rss N``): the whole
  controller — composition root, web app, event pump, outbox worker, housekeeping — on a
  SQLite file, with the simulated bank in the same process (the only extra), does ``N``
  loads and pickups through the core services in batches; then its VmRSS.
* :func:`startup_seconds`: ``locker serve --config`` against ``locker sim world`` (the
  boards in another process, as on a Pi): from spawning it to ``/healthz`` answering.
"""

from __future__ import annotations

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
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

BATCH = 32


def vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _pickups(count: int, workdir: Path) -> float:
    from hardware.bank import build_bank  # noqa: PLC0415 - heavy imports in the child only
    from kiosk.app import create_app  # noqa: PLC0415
    from locker.config import load_settings  # noqa: PLC0415
    from runtime.controller import Controller  # noqa: PLC0415
    from simulator.inbox import Inbox  # noqa: PLC0415
    from simulator.scenario_rig import EventLog, scenario_layout  # noqa: PLC0415
    from simulator.scenario_spec import SCENARIOS  # noqa: PLC0415
    from simulator.twilio_standin import TwilioStandin  # noqa: PLC0415
    from simulator.virtual_hardware import VirtualHardware  # noqa: PLC0415

    spec = replace(SCENARIOS["week"], boards=2)
    inbox = Inbox()
    with (
        VirtualHardware(scenario_layout(spec), latency_ms=spec.board_latency_ms) as sim,
        TwilioStandin(inbox) as twilio,
    ):
        settings = load_settings(
            environ={},
            overrides={
                "locker": {"demo": True, "bank_id": "bench", "data_dir": str(workdir)},
                "sms": twilio.settings(),
                "email": {"enabled": False},
                "notify": {"poll_interval_s": 0.05},
            },
        )
        bank = build_bank(sim.controller_layout())
        controller = Controller(settings, bank=bank, migrate_on_start=True).start()
        try:
            create_app(settings, controller)
            core = controller.running
            log = EventLog(core)
            for done in range(0, count, BATCH):
                _batch(core, sim, inbox, log, range(done, min(count, done + BATCH)))
            log.close()
            return vm_rss_mb()
        finally:
            controller.close()
            bank.close()


def _batch(core: Any, sim: Any, inbox: Any, log: Any, numbers: range) -> None:
    """Load ``numbers`` documents, read their codes from the SMS, collect them all."""
    from locker.services import deliveries, loading, pickup  # noqa: PLC0415
    from locker.vocabulary import DocumentType  # noqa: PLC0415

    loaded: list[tuple[str, str]] = []
    mark = log.mark()
    for n in numbers:
        phone = f"+49151{30_000_000 + n}"
        delivery = deliveries.announce(
            core,
            deliveries.Announcement(
                reference=f"RSS-{n}", document_type=DocumentType.OTHER, name="B", phone=phone
            ),
            actor="bench",
        )
        loaded.append((loading.start_loading(core, delivery.id, actor="clerk"), phone))
    _through_the_door(sim, log, mark, loaded, item=True, then="delivery_stored")
    phones = {phone for _, phone in loaded}
    entries = inbox.wait_for(lambda es: phones <= {e["to"] for e in es}, 30)
    code = {e["to"]: e["code"] for e in entries if e["code"]}
    mark = log.mark()
    for label, phone in loaded:
        granted = pickup.pickup(core, code[phone], date_of_birth=None, kiosk="k")
        assert granted.compartment == label
    _through_the_door(sim, log, mark, loaded, item=False, then="delivery_collected")


def _through_the_door(
    sim: Any, log: Any, mark: int, loaded: list[tuple[str, str]], *, item: bool, then: str
) -> None:
    """Once every door opened (since ``mark``): put in or take out, close; wait for ``then``."""
    for label, _ in loaded:
        log.wait("door_opened", mark, compartment=label)
    closing = log.mark()
    for label, _ in loaded:
        sim.set_item(label, item)
        sim.close_door(label)
    for label, _ in loaded:
        log.wait(then, closing, compartment=label)


def rss_after_pickups(count: int = 1000) -> float:
    """Resident memory (MB) of a fresh controller process after ``count`` pickups."""
    answer = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_parts", "rss", str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return float(json.loads(answer.stdout.strip().splitlines()[-1])["rss_mb"])


# --------------------------------------------------------------------------- start-up


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(check: Any, timeout: float) -> None:
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        pause.wait(0.01)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def startup_seconds(runs: int = 3) -> dict[str, float]:
    """``locker serve`` against boards in another process: spawn → ``/healthz`` 200 (s)."""
    from simulator.board_layouts import board_layout_toml  # noqa: PLC0415

    locker = str(Path(sys.executable).with_name("locker"))
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-start-") as scratch:
        where = Path(scratch)
        (where / "layout.toml").write_text(
            board_layout_toml(str(where / "links" / "rs485"), ["M"] * 16, poll_ms=200)
        )
        world = subprocess.Popen(
            [
                *(locker, "sim", "world", "--layout", str(where / "layout.toml")),
                *("--link-dir", str(where / "links"), "--ready", str(where / "ready.json")),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            _until((where / "ready.json").exists, 30)
            ready = json.loads((where / "ready.json").read_text())
            port = _free_port()
            config = where / "locker.toml"
            sms = "\n".join(f"{k} = {json.dumps(v)}" for k, v in ready["sms"].items())
            config.write_text(
                f'[locker]\nsecret_key = "{secrets.token_urlsafe(48)}"\nbank_id = "bench"\n'
                f'data_dir = "{where / "data"}"\n[hardware]\nbackend = "layout"\n'
                f'layout = "{where / "layout.toml"}"\n[kiosk]\nport = {port}\n[sms]\n{sms}\n'
            )
            subprocess.run(
                [locker, "--config", str(config), "db", "upgrade"],
                check=True,
                capture_output=True,
            )
            for _ in range(runs):
                started = time.monotonic()
                serve = subprocess.Popen(
                    [locker, "--config", str(config), "serve"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    _until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60)
                    timings.append(time.monotonic() - started)
                finally:
                    serve.send_signal(signal.SIGTERM)
                    serve.wait(30)
        finally:
            world.send_signal(signal.SIGTERM)
            world.wait(30)
    return {"median": sorted(timings)[len(timings) // 2], "max": max(timings)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["rss"]:
        count = int(argv[1]) if len(argv) > 1 else 1000
        with tempfile.TemporaryDirectory(prefix="bench-rss-") as scratch:
            print(json.dumps({"pickups": count, "rss_mb": _pickups(count, Path(scratch))}))
        return 0
    print("usage: python -m benchmarks.bench_parts rss [N]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
