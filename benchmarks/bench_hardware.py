"""Hardware benchmark on the simulator, with real baud-rate timing enforced by the virtual boards.

* unlock: ``bank.unlock()`` called → last byte of the unlock frame on the wire (the virtual
  board's clock: the moment the frame has arrived plus its wire time), p50/p99, beside the
  floor (the frame's wire time). The bank's poller runs meanwhile, as in production, and each
  unlock comes at a random moment of its poll cycle, so p99 includes waiting for a sweep.
* sweep: a full door-state sweep of a bus with 1, 4 and 16 CU16 boards, p50/p99, beside its
  floor (wire time of request and replies + one board latency). Target: p50 within 1.2×.

Run ``python benchmarks/bench_hardware.py [--json] [--samples N]``; ``run()`` returns the
same figures as a dict for ``locker bench``.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import statistics
import threading
import time
from typing import Any

from firmware_bridge import cu16
from firmware_bridge.bus import Bus, dialect_for, wire_time
from hardware.bank import build_bank
from locker.ports import EventKind, HardwareEvent
from simulator.board_layouts import board_layout
from simulator.virtual_hardware import VirtualHardware

TARGET = 1.2


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000}


def bench_unlock(samples: int, baud: int, latency_ms: float) -> dict[str, Any]:
    layout = board_layout("cu16", 1, 16, baud)
    frame_size = len(cu16.unlock_request(0, 0).encode())
    timings: list[float] = []
    with VirtualHardware(layout, latency_ms=latency_ms) as sim:
        on_wire: dict[bytes, float] = {}
        seen = threading.Event()

        def observe(frame: bytes, when: float) -> None:
            if frame[2] == cu16.Command.UNLOCK:
                on_wire[frame] = when
                seen.set()

        sim.buses["bus"].observers.append(observe)
        bank = build_bank(sim.controller_layout())
        events: queue.Queue[HardwareEvent] = queue.Queue()
        bank.subscribe(events.put)
        pause = threading.Event()
        poll_s = layout.buses["bus"].poll_ms / 1000
        jitter = random.Random(1)
        try:
            bank.wait_settled(10)
            labels = [spec.label for spec in bank.compartments()]
            for index in range(samples):
                label = labels[index % len(labels)]
                # arrive at a random moment of the poll cycle, as a citizen does
                pause.wait(jitter.uniform(0, poll_s))
                seen.clear()
                started = time.monotonic()
                bank.unlock(label)
                if not seen.wait(5):
                    raise RuntimeError("the unlock frame never reached the virtual board")
                timings.append(max(on_wire.values()) - started)
                on_wire.clear()
                _wait_event(events, EventKind.DOOR_OPENED, label)  # the sweep it triggered is done
                sim.close_door(label)
        finally:
            bank.close()
    floor = wire_time(frame_size, baud)
    return {"samples": samples, "floor_ms": floor * 1000, **_percentiles(timings)}


def _wait_event(events: queue.Queue[HardwareEvent], kind: EventKind, label: str) -> None:
    while True:
        event = events.get(timeout=5)
        if (event.kind, event.label) == (kind, label):
            return


def bench_sweep(boards: int, samples: int, baud: int, latency_ms: float) -> dict[str, Any]:
    layout = board_layout("cu16", boards, 16, baud)
    config = layout.buses["bus"]
    dialect = dialect_for("cu16")
    request = sum(len(exchange.request) for exchange in dialect.sweep(list(range(boards))))
    floor = wire_time(request + dialect.reply_size(boards), baud) + latency_ms / 1000
    timings: list[float] = []
    with (
        VirtualHardware(layout, latency_ms=latency_ms) as sim,
        Bus(sim.ports["bus"], dialect, config.boards, baud, config.timing) as bus,
    ):
        bus.sweep()  # open the port, warm up
        for _ in range(samples):
            started = time.monotonic()
            results = bus.sweep()
            timings.append(time.monotonic() - started)
            if len(results) != boards or any(isinstance(r, Exception) for r in results.values()):
                raise RuntimeError(f"sweep of {boards} boards failed: {results}")
    figures = _percentiles(timings)
    return {
        "boards": boards,
        "samples": samples,
        "floor_ms": floor * 1000,
        **figures,
        "ratio_p50": figures["p50_ms"] / (floor * 1000),
        "ratio_p99": figures["p99_ms"] / (floor * 1000),
        "within_target": figures["p50_ms"] / (floor * 1000) <= TARGET,
    }


def run(samples: int = 100, baud: int = 19200, latency_ms: float = 5.0) -> dict[str, Any]:
    """Every figure of this benchmark as one JSON-ready dict."""
    return {
        "baud": baud,
        "board_latency_ms": latency_ms,
        "target_ratio": TARGET,
        "unlock": bench_unlock(samples, baud, latency_ms),
        "sweep": [bench_sweep(n, samples, baud, latency_ms) for n in (1, 4, 16)],
    }


def table(result: dict[str, Any]) -> str:
    unlock = result["unlock"]
    lines = [
        f"hardware on the simulator: {result['baud']} baud, board latency "
        f"{result['board_latency_ms']:g} ms",
        "",
        f"{'measure':<34}{'p50 ms':>9}{'p99 ms':>9}{'floor ms':>10}{'p50/floor':>11}",
        f"{'unlock call -> frame on the wire':<34}{unlock['p50_ms']:>9.2f}{unlock['p99_ms']:>9.2f}"
        f"{unlock['floor_ms']:>10.2f}{unlock['p50_ms'] / unlock['floor_ms']:>11.2f}",
    ]
    for sweep in result["sweep"]:
        mark = "ok" if sweep["within_target"] else f"> {result['target_ratio']}x"
        lines.append(
            f"{'sweep, ' + str(sweep['boards']) + ' CU16 board(s)':<34}{sweep['p50_ms']:>9.2f}"
            f"{sweep['p99_ms']:>9.2f}{sweep['floor_ms']:>10.2f}{sweep['ratio_p50']:>11.2f}  {mark}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    args = parser.parse_args(argv)
    result = run(args.samples, args.baud, args.latency_ms)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
