"""``bank.unlock()`` called → last byte of the unlock frame on the wire, beside the floor.

The production serial bank on one virtual CU16 board at 19200 baud (the virtual board's clock:
the moment the frame arrived plus its wire time). The bank's poller runs meanwhile, as in
production, and each unlock comes at a random moment of its poll cycle, so the p99 includes
waiting for a sweep in progress. The floor is the frame's wire time.
"""

from __future__ import annotations

import queue
import random
import threading
import time

from benchmarks.harness import Benchmark, Figure, latency_figures
from firmware_bridge import cu16
from firmware_bridge.bus import wire_time
from hardware.bank import build_bank
from locker.ports import EventKind, HardwareEvent
from simulator.board_layouts import board_layout
from simulator.virtual_hardware import VirtualHardware


def run(samples: int, baud: int, latency_ms: float) -> list[Figure]:
    layout = board_layout("cu16", 1, 16, baud)
    timings: list[float] = []
    with VirtualHardware(layout, latency_ms=latency_ms) as sim:
        on_wire: list[float] = []
        seen = threading.Event()

        def observe(frame: bytes, when: float) -> None:
            if frame[2] == cu16.Command.UNLOCK:
                on_wire.append(when)
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
                pause.wait(jitter.uniform(0, poll_s))  # a random moment of the poll cycle
                seen.clear()
                on_wire.clear()
                started = time.monotonic()
                bank.unlock(label)
                if not seen.wait(5):
                    raise RuntimeError("the unlock frame never reached the virtual board")
                timings.append(max(on_wire) - started)
                _wait_event(events, EventKind.DOOR_OPENED, label)  # its sweep is done
                sim.close_door(label)
        finally:
            bank.close()
    floor_ms = wire_time(len(cu16.unlock_request(0, 0).encode()), baud) * 1000
    return latency_figures(
        "unlock", "bank.unlock() -> frame on the wire", timings, floor_ms=floor_ms
    )


def _wait_event(events: queue.Queue[HardwareEvent], kind: EventKind, label: str) -> None:
    while True:
        event = events.get(timeout=5)
        if (event.kind, event.label) == (kind, label):
            return


BENCHMARK = Benchmark(
    title="the bank's unlock call -> frame on the wire (one CU16 board, poller running)",
    run=run,
    full={"samples": 100, "baud": 19200, "latency_ms": 5.0},
    smoke={"samples": 1},
)
