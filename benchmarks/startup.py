"""``locker serve`` spawned → ``/healthz`` answers 200, with the demo's boards in another
process (:mod:`benchmarks.served`): the median and the slowest of ``runs`` starts on one
database. Target ≤ 3 s.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from benchmarks.harness import Benchmark, Figure, Target
from benchmarks.served import Served, demo_bank


def run(runs: int) -> list[Figure]:
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        server = Served(Path(scratch), demo_bank())
        try:
            for _ in range(runs):
                timings.append(server.start())
                server.stop()
        finally:
            server.close()
    return [
        Figure("median_s", statistics.median(timings), "s", "start-up, median", Target(3)),
        Figure("max_s", max(timings), "s", f"start-up, slowest of {runs}"),
    ]


BENCHMARK = Benchmark(
    title="start-up of locker serve (spawn -> /healthz 200)",
    run=run,
    full={"runs": 3},
    smoke={"runs": 1},
)
