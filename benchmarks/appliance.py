"""The installed appliance: start-up to ``READY=1``, its RSS with a 24-compartment bank, its size.

With ``install=1`` the appliance is installed as ``./dev install`` does (``deploy/install.py``,
a wheel of the checkout, byte-compiled) into a scratch root, and that installation's
``locker serve`` is measured; with ``install=0`` (the smoke run) the checkout's own ``locker``.
The boards are the demo's two CU16 boards (24 compartments) in this process, on the other side
of a pty (:class:`benchmarks.served.Served`), so the figures are the controller's alone.

* ``ready_median_s`` / ``ready_max_s``: spawn → the ``READY=1`` datagram on a real notify
  socket (database checked, bank reconciled, listening), over ``runs`` starts;
  ``ready_cpu_s`` the CPU time the service used until then (what a busy shared machine does
  not inflate, and what grows on a Pi's slower cores);
* ``rss_mb``: the service's resident memory once ready and after 100 ``/healthz`` requests;
* ``installed_mb``: the release on disk (its virtual environment, code and dependencies).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Benchmark, Figure, Target, cpu_seconds, rss_mb
from benchmarks.served import Served, demo_bank
from simulator.readiness import NotifySocket

CHECKOUT = Path(__file__).resolve().parents[1]


def install(root: Path) -> Path:
    """Install the checkout under ``root`` as ``./dev install`` would; the ``locker`` in it."""
    wheels = root.parent / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(CHECKOUT)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("locker-*.whl"))
    python = shutil.which("python3", path="/usr/bin:/bin") or "python3"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOCKER_")}
    subprocess.run(
        [python, str(CHECKOUT / "deploy/install.py"), "--root", str(root), "--wheel", str(wheel)],
        check=True,
        capture_output=True,
        env=environ,
    )
    return (root / "opt/locker/current").resolve() / "bin" / "locker"


def size_mb(path: Path) -> float:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            entry = Path(directory) / name
            if not entry.is_symlink():
                total += entry.stat().st_blocks * 512
    return total / 2**20


def serve_until_ready(locker: Path, config: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Spawn the installed ``locker serve``; the seconds until it said ``READY=1``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LOCKER_", "NOTIFY_"))}
    notify = NotifySocket("locker-appliance")
    started = time.monotonic()
    process = subprocess.Popen(
        [str(locker), "--config", str(config), "serve"],
        env=notify.environ(clean) | {"WATCHDOG_USEC": "30000000"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not notify.wait_ready(process, 120):
            process.kill()
            process.wait()
            raise RuntimeError("locker serve ended or did not say READY=1 within 120 s")
    finally:
        notify.close()
    return process, time.monotonic() - started


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(30)


def run(runs: int, install_it: int = 1, requests: int = 100) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-appliance-") as scratch:
        work = Path(scratch)
        if install_it:
            locker = install(work / "root")
            release = locker.parents[1]
        else:
            locker = Path(sys.executable).with_name("locker")
            release = Path(sys.prefix)
        server = Served(work, demo_bank())
        timings, cpu, rss = [], [], 0.0
        try:
            for attempt in range(runs):
                process, seconds = serve_until_ready(locker, server.config)
                timings.append(seconds)
                cpu.append(cpu_seconds(process.pid))
                try:
                    if attempt == runs - 1:
                        for _ in range(requests):
                            connection = http.client.HTTPConnection(
                                "127.0.0.1", server.port, timeout=10
                            )
                            connection.request("GET", "/healthz")
                            connection.getresponse().read()
                            connection.close()
                        rss = rss_mb(process.pid)
                finally:
                    stop(process)
        finally:
            server.close()
        installed = size_mb(release)
    return [
        Figure(
            "ready_median_s", statistics.median(timings), "s", "spawn -> READY=1, median", Target(3)
        ),
        Figure("ready_max_s", max(timings), "s", f"spawn -> READY=1, slowest of {runs}"),
        Figure(
            "ready_cpu_s", statistics.median(cpu), "s", "CPU time (user+sys) to READY=1, median"
        ),
        Figure(
            "rss_mb",
            rss,
            "MB",
            "RSS of the service, 24 compartments, after /healthz x100",
            Target(150),
        ),
        Figure("installed_mb", installed, "MB", "the release on disk (venv with dependencies)"),
    ]


BENCHMARK = Benchmark(
    title="the installed appliance: start-up to READY=1, RSS, size on disk",
    run=lambda runs, install=1: run(int(runs), int(install)),
    full={"runs": 5, "install": 1},
    smoke={"runs": 1, "install": 0},
    long=True,
)
