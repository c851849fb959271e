"""``locker bench [--json]``: every performance figure of the product, on the simulator.

=====================  ========================================================================
unlock_latency_ms      ``POST /api/v1/pickup`` sent over HTTP → last byte of the unlock frame on
                       the simulated 19200-baud wire (real app under uvicorn, real bank, demo
                       layout's serial compartments), p50/p99
unlock_floor_ms        that frame's wire time + the board latency
sweep_ms               full door-state sweep of a bus with 1, 4 and 16 CU16 boards, p50/p99
sweep_floor_ms         wire time of the sweep's request and replies + one board latency
qr_decode_ms           pyzbar, QR only, on a 640×480 frame, p50/p99
notify_latency_ms      door closed on a document → the SMS stand-in accepted the code, p50/p99
rss_mb                 a fresh controller process after 1,000 pickups
startup_s              ``locker serve`` spawned → ``/healthz`` answers (boards in another process)
week_s                 ``locker sim run week``: wall-clock time of the simulated week
=====================  ========================================================================

It reuses ``benchmarks/bench_hardware.py``, ``bench_notify.py`` and ``bench_kiosk.py`` (their
``run()`` parts), so it needs a source checkout.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "unlock p99 / floor": 3.0,
    "sweep p50 / floor": 1.2,
    "qr decode p99 ms": 20.0,
    "rss mb": 150.0,
    "startup s": 3.0,
    "week s": 60.0,
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser("bench", help="run the benchmarks on the simulator")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--samples", type=int, default=100, help="samples per latency figure")
    bench.add_argument("--pickups", type=int, default=1000, help="pickups before measuring RSS")
    bench.set_defaults(func=cmd_bench)


def _p(figures: dict[str, Any]) -> dict[str, float]:
    return {"p50": round(figures["p50_ms"], 3), "p99": round(figures["p99_ms"], 3)}


def unlock_over_http(samples: int) -> dict[str, Any]:
    """Code submitted over HTTP → unlock frame on the wire, on the demo bank's serial boards."""
    from benchmarks import bench_kiosk  # noqa: PLC0415
    from firmware_bridge import cu16  # noqa: PLC0415
    from firmware_bridge.bus import wire_time  # noqa: PLC0415

    timings: list[float] = []
    with bench_kiosk.served() as (base, controller, world):
        core = controller.running
        watch = bench_kiosk.Watch(core, world)
        on_wire = bench_kiosk.watch_the_wire(core, world, watch)
        client = bench_kiosk.Client(base)
        try:
            while len(timings) < samples:
                count = min(bench_kiosk.BATCH, samples - len(timings))
                batch = bench_kiosk.store_batch(core, world, watch, count, len(timings))
                for delivery_id, label, code in batch:
                    on_wire.clear()
                    started = time.monotonic()
                    status, answer = client.post(
                        "/api/v1/pickup", json.dumps({"code": code}).encode()
                    )
                    assert status == 200, answer
                    watch.until(lambda: bool(on_wire))
                    timings.append(on_wire[0] - started)
                    bench_kiosk.take_and_close(core, world, watch, delivery_id, label)
        finally:
            client.close()
        baud = next(iter(world.layout.buses.values())).baud
        latency_ms = next(iter(world.hardware.buses.values())).latency_s * 1000
    ordered = sorted(timings)
    return {
        "samples": samples,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000,
        "floor_ms": wire_time(len(cu16.unlock_request(0, 0).encode()), baud) * 1000 + latency_ms,
    }


def measure(samples: int, pickups: int) -> dict[str, Any]:
    """Every figure, as the one JSON object ``locker bench --json`` prints."""
    from benchmarks import (  # noqa: PLC0415
        bench_hardware,
        bench_kiosk,
        bench_notify,
        bench_parts,
    )
    from simulator.scenario import run_scenario  # noqa: PLC0415
    from simulator.scenario_spec import load_spec  # noqa: PLC0415

    unlock = unlock_over_http(samples)
    hardware = bench_hardware.run(samples=samples)
    decode = bench_kiosk.bench_decode(samples)["pyzbar_qr_only"]
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as scratch:
        notify = bench_notify.bench_latency(Path(scratch), samples)
    rss = bench_parts.rss_after_pickups(pickups)
    startup = bench_parts.startup_seconds()
    week = run_scenario(load_spec("week"))
    sweeps = {str(s["boards"]): s for s in hardware["sweep"]}
    return {
        "unlock_latency_ms": _p(unlock),
        "unlock_floor_ms": round(unlock["floor_ms"], 3),
        "sweep_ms": {n: _p(s) for n, s in sweeps.items()},
        "sweep_floor_ms": {n: round(s["floor_ms"], 3) for n, s in sweeps.items()},
        "qr_decode_ms": _p(decode),
        "notify_latency_ms": _p(notify),
        "rss_mb": round(rss, 1),
        "startup_s": round(startup["median"], 3),
        "week_s": round(week.wall_s, 1),
        "samples": samples,
        "rss_pickups": pickups,
        "week": {
            "pickups": week.tally.collected,
            "expiries": week.tally.expired,
            "returns": week.tally.returned,
        },
        "machine": machine(),
    }


def machine() -> dict[str, Any]:
    import os  # noqa: PLC0415

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("model name", "Model")):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def ratios(figures: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Each target beside what was measured: name → (measured, target)."""
    worst_sweep = max(
        figures["sweep_ms"][n]["p50"] / figures["sweep_floor_ms"][n] for n in figures["sweep_ms"]
    )
    return {
        "unlock p99 / floor": (
            figures["unlock_latency_ms"]["p99"] / figures["unlock_floor_ms"],
            TARGETS["unlock p99 / floor"],
        ),
        "sweep p50 / floor": (worst_sweep, TARGETS["sweep p50 / floor"]),
        "qr decode p99 ms": (figures["qr_decode_ms"]["p99"], TARGETS["qr decode p99 ms"]),
        "rss mb": (figures["rss_mb"], TARGETS["rss mb"]),
        "startup s": (figures["startup_s"], TARGETS["startup s"]),
        "week s": (figures["week_s"], TARGETS["week s"]),
    }


def table(figures: dict[str, Any]) -> str:
    m = figures["machine"]
    lines = [
        f"locker bench on {m['cpu']} ({m['nproc']} CPUs), Python {m['python']}",
        "",
        f"{'figure':<36}{'p50':>10}{'p99':>10}{'floor':>10}",
        f"{'unlock: code over HTTP -> frame (ms)':<36}"
        f"{figures['unlock_latency_ms']['p50']:>10.2f}{figures['unlock_latency_ms']['p99']:>10.2f}"
        f"{figures['unlock_floor_ms']:>10.2f}",
    ]
    for boards, sweep in figures["sweep_ms"].items():
        lines.append(
            f"{'sweep, ' + boards + ' CU16 board(s) (ms)':<36}{sweep['p50']:>10.2f}"
            f"{sweep['p99']:>10.2f}{figures['sweep_floor_ms'][boards]:>10.2f}"
        )
    for name, key in (
        ("QR decode 640x480 (ms)", "qr_decode_ms"),
        ("door closed -> SMS (ms)", "notify_latency_ms"),
    ):
        lines.append(f"{name:<36}{figures[key]['p50']:>10.2f}{figures[key]['p99']:>10.2f}")
    rss_name = f"RSS after {figures['rss_pickups']} pickups (MB)"
    lines += [
        f"{rss_name:<36}{figures['rss_mb']:>10.1f}",
        f"{'start-up (s)':<36}{figures['startup_s']:>10.2f}",
        f"{'simulated week (s)':<36}{figures['week_s']:>10.1f}",
        "",
        "targets:",
    ]
    for name, (measured, target) in ratios(figures).items():
        verdict = "met" if measured <= target else "MISSED"
        lines.append(f"  {name:<22}{measured:>9.2f}  (target <= {target:g})  {verdict}")
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    figures = measure(args.samples, args.pickups)
    print(json.dumps(figures, indent=2) if args.json else table(figures))
    return 0
