"""A pickup code sent over HTTP → the last byte of the unlock frame on the simulated wire.

``locker serve`` in its own process (:mod:`benchmarks.served`) on the demo's serial boards
(19200 baud, 5 ms board latency, the poller sweeping every 150 ms), a kept-alive connection as
the kiosk's browser keeps one; the frame is timed by the virtual board in this process on the
same monotonic clock. The floor is the frame's wire time plus the board latency. Target: p99
within 2× the floor on a quiet machine.
"""

from __future__ import annotations

from benchmarks.harness import Benchmark, Figure, latency_figures
from benchmarks.served import Stored, served, unlock_floor_ms

TARGET_P99_FLOORS = 2.0


def run(samples: int) -> list[Figure]:
    timings: list[float] = []
    with served() as server:
        kiosk = server.kiosk

        def timed(one: Stored) -> str:
            label, seconds = kiosk.to_the_wire(lambda: kiosk.pickup(one.code))
            timings.append(seconds)
            return label

        kiosk.cycles(samples, timed)
        floor = unlock_floor_ms(server.world.layout, server.latency_ms)
    return latency_figures(
        "unlock",
        "code over HTTP -> unlock frame on the wire",
        timings,
        floor_ms=floor,
        target_p99_floors=TARGET_P99_FLOORS,
    )


BENCHMARK = Benchmark(
    title="pickup code over HTTP -> unlock frame (locker serve, demo bank's boards)",
    run=run,
    full={"samples": 100},
    smoke={"samples": 1},
)
