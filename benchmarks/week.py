"""``locker sim run week``: the wall-clock time of the simulated week (300 deliveries, 128
compartments on 8 CU16 boards at 115200 baud, faults at random moments, every step through the
real core, serial bank, event pump and twilio client) and what happened in it. Target ≤ 60 s.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks.harness import Benchmark, Figure, Target
from simulator.scenario import run_scenario
from simulator.scenario_spec import load_spec


def run(days: int, deliveries: int) -> list[Figure]:
    spec = replace(load_spec("week"), days=days, deliveries=deliveries)
    with tempfile.TemporaryDirectory(prefix="bench-week-") as scratch:
        week = run_scenario(spec, Path(scratch))
    return [
        Figure("wall_s", week.wall_s, "s", f"simulated {days} day(s), wall-clock", Target(60)),
        Figure("loaded", week.tally.loaded, "", "deliveries loaded"),
        Figure("pickups", week.tally.collected, "", "pickups"),
        Figure("expiries", week.tally.expired, "", "expiries"),
        Figure("messages", week.messages, "", "messages sent"),
        Figure("codes_sent_once", int(week.codes_sent_once), "", "each code sent once (1 = yes)"),
    ]


BENCHMARK = Benchmark(
    title="the simulated week (locker sim run week)",
    run=run,
    full={"days": 7, "deliveries": 300},
    smoke={"days": 1, "deliveries": 2},
)
