"""The simulated world behind a controller: virtual boards and pins, SMS and mail stand-ins,
and a clock that can jump ahead. Used by ``locker demo``, the tests and developers only;
imported only when the configuration names the simulator backend.

With a ``state_dir`` the world's physical state (doors, items, faults), the stand-ins' inbox
and the clock's offset are written to ``simulator.json`` whenever they change (atomically),
so a demo killed at any moment finds the world as it was when it starts again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from hardware.bank import CompositeBank, build_bank
from hardware.layout import load_layout
from locker.clock import OffsetClock
from locker.config import Settings
from simulator.inbox import Entry, Inbox
from simulator.sim import Simulator, load_demo_layout
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin

log = logging.getLogger(__name__)
STATE_FILE = "simulator.json"
MESSAGE_FAULTS = {"sms_down", "smtp_down"}


class _SavedInbox(Inbox):
    """The inbox, saved before a stand-in answers (the sender then counts it as sent)."""

    on_change: Callable[[], None] | None = None

    def _add(self, entry: Entry) -> Entry:
        added = super()._add(entry)
        if self.on_change is not None:
            self.on_change()
        return added


class Simulation:
    def __init__(
        self,
        settings: Settings,
        *,
        state_dir: Path | None = None,
        latency_ms: float = 5.0,
        settle_timeout_s: float = 15.0,
    ) -> None:
        layout = (
            load_layout(settings.hardware.layout)
            if settings.hardware.layout
            else load_demo_layout()
        )
        self.state_path = state_dir / STATE_FILE if state_dir else None
        saved = self._read()
        self.sim = Simulator(layout, latency_ms, state=saved.get("world")).start()
        self.bank: CompositeBank | None = None
        self.twilio: TwilioStandin | None = None
        self.smtp: SmtpStandin | None = None
        self._stop = threading.Event()
        self._dirty = threading.Event()
        self._save_lock = threading.Lock()
        self._saver: threading.Thread | None = None
        try:
            self.bank = build_bank(self.sim.controller_layout(), self.sim.pin_factory, start=False)
            if self.sim.gpio is not None:
                self.sim.gpio.resync()
            self.bank.start()
            if not self.bank.wait_settled(settle_timeout_s):
                raise TimeoutError("the simulated bank did not answer in time")
            self.inbox = _SavedInbox(saved.get("inbox", []))
            self.twilio = TwilioStandin(self.inbox).start()
            self.smtp = SmtpStandin(self.inbox).start()
            self.clock = OffsetClock(timedelta(seconds=float(saved.get("clock_offset_s", 0))))
            self.message_faults: dict[str, bool] = dict(saved.get("message_faults", {}))
            for kind, on in self.message_faults.items():
                self._apply_message_fault(kind, on)
        except Exception:
            self.close()
            raise
        if self.state_path is not None:
            # Saved at once, in the thread that made the change, before the controller can act
            # on it: a SIGKILL at any moment finds the world no older than the database.
            self.sim.world.watch(self.changed)
            self.inbox.on_change = self.changed
            self._saver = threading.Thread(target=self._save_loop, name="sim-saver", daemon=True)
            self._saver.start()

    # -- what the controller needs --------------------------------------------------------

    def standin_settings(self) -> dict[str, dict[str, Any]]:
        """``[sms]`` and ``[email]`` settings that send through the local stand-ins."""
        assert self.twilio is not None and self.smtp is not None
        return {"sms": self.twilio.settings(), "email": self.smtp.settings()}

    # -- what a developer does through /sim -------------------------------------------------

    def set_fault(self, kind: str, target: str, on: bool) -> None:
        if kind in MESSAGE_FAULTS:
            self._apply_message_fault(kind, on)
            self.message_faults[kind] = on
            self.changed()
        else:
            self.sim.set_fault(kind, target, on)

    def _apply_message_fault(self, kind: str, on: bool) -> None:
        standin = self.twilio if kind == "sms_down" else self.smtp
        assert standin is not None
        standin.set_down(on)

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.changed()

    def state(self) -> dict[str, Any]:
        state = self.sim.state()
        state["clock"] = self.clock.now().isoformat()
        state["message_faults"] = sorted(k for k, on in self.message_faults.items() if on)
        return state

    def changed(self) -> None:
        """Something changed (the world, a message, a fault, the clock): save now."""
        if self.state_path is None:
            return
        try:
            self.save()
        except OSError:
            log.exception("could not save the simulator state")

    # -- persistence -----------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            data = json.loads(self.state_path.read_text())
            assert isinstance(data, dict)
            return data
        except (ValueError, AssertionError):
            log.warning("ignoring unreadable simulator state %s", self.state_path)
            return {}

    def save(self) -> None:
        if self.state_path is None:
            return
        with self._save_lock:  # the snapshot too: a later one is never overwritten by an older
            data = {
                "world": self.sim.to_dict(),
                "inbox": self.inbox.to_list(),
                "clock_offset_s": self.clock.offset.total_seconds(),
                "message_faults": self.message_faults,
            }
            temporary = self.state_path.with_suffix(".tmp")
            with temporary.open("w") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.state_path)

    def _save_loop(self) -> None:
        seen = -1
        while not self._stop.is_set():
            self._dirty.wait(0.5)
            count = len(self.inbox.to_list())
            if self._dirty.is_set() or count != seen:
                self._dirty.clear()
                seen = count
                try:
                    self.save()
                except OSError:
                    log.exception("could not save the simulator state")

    def close(self) -> None:
        self._stop.set()
        self._dirty.set()
        if self._saver is not None:
            self._saver.join(timeout=5)
            self.save()
        for part in (self.bank, self.twilio, self.smtp):
            if part is not None:
                part.close()
        self.sim.close()
