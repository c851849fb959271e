"""Runs the core's periodic jobs (expiry, reminders, door alarms, erasure) once a minute.

Built by the composition root without starting; :meth:`Housekeeper.start` starts its thread,
and :meth:`Housekeeper.run_now` runs one pass in the caller's thread (clock jumps, tests).
"""

from __future__ import annotations

import logging
import threading

from locker.core import Core
from locker.services.housekeeping import HousekeepingReport, run_due

log = logging.getLogger(__name__)


class Housekeeper:
    def __init__(self, core: Core, interval_s: float = 60.0) -> None:
        self.core = core
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)

    def start(self) -> Housekeeper:
        self._thread.start()
        return self

    def run_now(self) -> HousekeepingReport:
        """One pass right now (the simulator's clock jumps call this)."""
        with self._lock:
            return run_due(self.core)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_now()
            except Exception:
                log.exception("housekeeping pass failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
