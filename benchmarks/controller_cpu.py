"""CPU time of ``locker serve`` itself (user + system, from /proc), boards in another process.

* idle: the demo's serial bank (two CU16 boards, swept every 150 ms), nothing happening, as a
  share of one core over ``idle_s`` seconds. Target ≤ 1 %.
* per announcement (``POST /api/v1/deliveries`` with an API key), per load (``POST …/load``,
  the door opened, the document put in and the door closed → stored → the SMS with the code
  sent), per pickup (``POST /api/v1/pickup`` → the door opened, the document taken, closed →
  collected → the confirmation SMS sent), in milliseconds each; everything the controller's
  threads did meanwhile (sweeps, outbox, event pump) is counted, which is the point.
"""

from __future__ import annotations

import threading

from benchmarks.harness import Benchmark, Figure, Target, cpu_seconds
from benchmarks.served import served

TARGET_IDLE_PERCENT = 1.0


def run(cycles: int, warmup: int, idle_s: float, settle_s: float) -> list[Figure]:
    spent = {"announce": 0.0, "load": 0.0, "pickup": 0.0}
    with served() as server:
        pid = server.pid
        kiosk = server.kiosk
        kiosk.cycles(warmup)  # the first requests import and compile
        threading.Event().wait(settle_s)  # the controller's work after it is done
        before = cpu_seconds(pid)
        threading.Event().wait(idle_s)
        idle = (cpu_seconds(pid) - before) / idle_s * 100
        done = 0
        while done < cycles:
            count = min(len(server.world.labels), cycles - done)
            mark = cpu_seconds(pid)
            announced = kiosk.announce_many(count)
            spent["announce"] += cpu_seconds(pid) - mark
            mark = cpu_seconds(pid)
            stored = kiosk.load(announced)
            spent["load"] += cpu_seconds(pid) - mark
            mark = cpu_seconds(pid)
            kiosk.collect(stored)
            spent["pickup"] += cpu_seconds(pid) - mark
            done += count
    return [
        Figure(
            "idle_percent",
            idle,
            "%",
            f"idle CPU, demo's serial bank, {idle_s:g} s",
            Target(TARGET_IDLE_PERCENT),
        ),
        *(
            Figure(f"{what}_ms", seconds * 1000 / cycles, "ms", f"CPU per {what} ({cycles})")
            for what, seconds in spent.items()
        ),
    ]


BENCHMARK = Benchmark(
    title="CPU time of locker serve: idle, per announcement, load and pickup",
    run=run,
    full={"cycles": 240, "warmup": 24, "idle_s": 30.0, "settle_s": 5.0},
    smoke={"cycles": 1, "warmup": 0, "idle_s": 0.1, "settle_s": 0.0},
)
