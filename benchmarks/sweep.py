"""A full door-state sweep of one bus with 1, 4 and 16 CU16 boards, beside its floor.

The floor is the wire time of the sweep's requests and replies at the bus's baud rate plus one
board latency (the virtual boards enforce both). Target: p50 within 1.2× the floor — the bus
thread should spend its time waiting for bytes, not computing.
"""

from __future__ import annotations

from benchmarks.harness import Benchmark, Figure, Target, percentiles, timed
from firmware_bridge.bus import Bus, dialect_for, wire_time
from simulator.board_layouts import board_layout
from simulator.virtual_hardware import VirtualHardware

TARGET_P50_FLOORS = 1.2


def sweep_figures(boards: int, samples: int, baud: int, latency_ms: float) -> list[Figure]:
    layout = board_layout("cu16", boards, 16, baud)
    config = layout.buses["bus"]
    dialect = dialect_for("cu16")
    request = sum(len(exchange.request) for exchange in dialect.sweep(list(range(boards))))
    floor_ms = (wire_time(request + dialect.reply_size(boards), baud) + latency_ms / 1000) * 1000
    with (
        VirtualHardware(layout, latency_ms=latency_ms) as sim,
        Bus(sim.ports["bus"], dialect, config.boards, baud, config.timing) as bus,
    ):

        def sweep() -> None:
            results = bus.sweep()
            if len(results) != boards or any(isinstance(r, Exception) for r in results.values()):
                raise RuntimeError(f"sweep of {boards} boards failed: {results}")

        sweep()  # open the port, warm up
        found = percentiles(timed(sweep, samples))
    what = f"sweep, {boards} CU16 board(s)"
    return [
        Figure(f"boards_{boards}_p50_ms", found.p50_ms, "ms", f"{what}, p50"),
        Figure(f"boards_{boards}_p99_ms", found.p99_ms, "ms", f"{what}, p99"),
        Figure(f"boards_{boards}_floor_ms", floor_ms, "ms", f"{what}, floor"),
        Figure(
            f"boards_{boards}_p50_floors",
            found.p50_ms / floor_ms,
            "x",
            f"{what}, p50 / floor",
            Target(TARGET_P50_FLOORS),
        ),
    ]


def run(samples: int, baud: int, latency_ms: float) -> list[Figure]:
    return [f for n in (1, 4, 16) for f in sweep_figures(n, samples, baud, latency_ms)]


BENCHMARK = Benchmark(
    title="door-state sweep of a bus, 19200 baud, 5 ms board latency",
    run=run,
    full={"samples": 100, "baud": 19200, "latency_ms": 5.0},
    smoke={"samples": 1},
)
