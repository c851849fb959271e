"""One racer: load the given deliveries into compartments, print the labels as JSON.

Run as a program (``python race_worker.py URL DATA_DIR ID...``) so that two of them are truly
separate processes with their own connections, as two controllers would be.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from locker.clock import SystemClock
from locker.config import load_settings
from locker.core import Core
from locker.db import make_engine
from locker.errors import NoCompartmentFree
from locker.ports import (
    CompartmentReading,
    CompartmentSpec,
    EventCallback,
    UnlockOutcome,
    UnlockResult,
    Unsubscribe,
)
from locker.services.loading import start_loading
from locker.vocabulary import DoorState, Size

COMPARTMENTS = 24


class CountingBank:
    """Thread-safe: records every unlock; doors are not modelled (allocation is the point)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.unlocked: list[str] = []

    def compartments(self) -> Sequence[CompartmentSpec]:
        return [CompartmentSpec(f"A{i:02d}", Size.S, 1 + i % 4) for i in range(COMPARTMENTS)]

    def unlock(self, label: str) -> UnlockResult:
        with self.lock:
            self.unlocked.append(label)
        return UnlockResult(label, UnlockOutcome.UNLOCKED)

    def read(self, label: str) -> CompartmentReading:
        return CompartmentReading(label, DoorState.CLOSED)

    def read_all(self) -> Mapping[str, CompartmentReading]:
        return {s.label: self.read(s.label) for s in self.compartments()}

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        return lambda: None

    def close(self) -> None:
        return None


def load_all(url: str, data_dir: str, ids: list[str]) -> list[str]:
    settings = load_settings(
        environ={},
        overrides={"locker": {"demo": True, "bank_id": "test-bank", "data_dir": data_dir}},
    )
    engine = make_engine(url, busy_timeout_ms=30_000)
    core = Core(engine, SystemClock(), settings, CountingBank())
    labels = []
    for delivery_id in ids:
        try:
            labels.append(start_loading(core, delivery_id, actor="race"))
        except NoCompartmentFree:
            labels.append("none")
    engine.dispose()
    return labels


if __name__ == "__main__":
    print(json.dumps(load_all(sys.argv[1], sys.argv[2], sys.argv[3:])))
    sys.stdout.flush()
    sys.exit(0 if Path(sys.argv[2]).exists() else 1)
