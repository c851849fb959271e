"""An opening the poller sees before ``unlock()`` has returned is still ours, not forced.

The bus thread may finish a sweep (which sees the door spring open) before the caller of
``unlock()`` runs again (a busy CPU); the door watch must be armed before the pulse goes out.
"""

from __future__ import annotations

from typing import Any

from locker.ports import EventKind
from simulator.virtual_hardware import simulated_bank

from .support import Recorder, serial_layout

OPENINGS = (EventKind.DOOR_OPENED, EventKind.FORCED_OPEN)


def test_an_opening_seen_before_unlock_returns_is_ours(recorder: Recorder) -> None:
    with simulated_bank(serial_layout("cu16"), latency_ms=1) as (bank, sim):
        bank.subscribe(recorder)
        (serial,) = bank.banks
        bus = serial.buses["bus"]
        unlock = bus.unlock

        def descheduled_caller(board: int, channel: int) -> Any:
            report = unlock(board, channel)
            # the caller gets the CPU back only after the poller has reported the door
            assert recorder.wait_until(lambda events: any(e.kind in OPENINGS for e in events))
            return report

        bus.unlock = descheduled_caller  # type: ignore[method-assign]
        bank.unlock("A02")
        assert recorder.kinds("A02") == [EventKind.DOOR_OPENED]
        sim.close_door("A02")
        recorder.wait_for(EventKind.DOOR_CLOSED, "A02")
        assert EventKind.LOCK_FAULT not in recorder.kinds("A02")
