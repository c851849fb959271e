"""Resident memory of ``locker serve`` alone (the boards and stand-ins in another process):
after start-up, after ``first`` and after ``then`` whole pickups (announce, load, store, SMS,
pickup, collect, SMS) on the demo's serial bank. Targets: ≤ 100 MB after ``then`` pickups,
growth from ``first`` to ``then`` ≤ 5 MB.
"""

from __future__ import annotations

import threading

from benchmarks.harness import Benchmark, Figure, Target, rss_mb
from benchmarks.served import served


def run(first: int, then: int, settle_s: float) -> list[Figure]:
    with served() as server:
        kiosk = server.kiosk
        threading.Event().wait(settle_s)
        at_start = rss_mb(server.pid)
        kiosk.cycles(first)
        after_first = rss_mb(server.pid)
        kiosk.cycles(then - first)
        after_then = rss_mb(server.pid)
        anon, files = rss_mb(server.pid, "RssAnon"), rss_mb(server.pid, "RssFile")
    return [
        Figure("start_mb", at_start, "MB", "RSS of locker serve after start-up"),
        Figure("after_first_mb", after_first, "MB", f"RSS after {first} pickups"),
        Figure("after_then_mb", after_then, "MB", f"RSS after {then} pickups", Target(100)),
        Figure("after_then_anon_mb", anon, "MB", "  of which its own memory (RssAnon)"),
        Figure("after_then_file_mb", files, "MB", "  of which mapped files, libraries (RssFile)"),
        Figure(
            "growth_mb",
            after_then - after_first,
            "MB",
            f"RSS growth from {first} to {then} pickups",
            Target(5),
        ),
    ]


BENCHMARK = Benchmark(
    title="memory of locker serve after start-up and after many pickups",
    run=run,
    full={"first": 1000, "then": 10_000, "settle_s": 5.0},
    smoke={"first": 1, "then": 2, "settle_s": 0.0},
)
