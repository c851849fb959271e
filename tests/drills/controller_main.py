"""The controller as the drills run it: ``locker serve`` wired the same way (composition root,
real serial bank on the simulator's pty, SQLite file, twilio client and SMTP to the stand-ins),
with four test verbs:

* the clock is an :class:`OffsetClock`; ``POST /drill/clock/advance {"seconds": N}`` jumps it
  and runs housekeeping and the outbox at once (an hour of SMS outage in a second);
* housekeeping runs every ``--housekeeping-s`` seconds (door-left-open alarms within a drill);
* an API key with every role is made on the first start and kept in ``DATA_DIR/drill.key``;
* it is served by :func:`kiosk.server.serve` as ``locker serve`` is, so it tells
  ``NOTIFY_SOCKET`` ``READY=1`` once it listens (the drills wait on that, not on polling);
* ``--die-at unlock:before|unlock:after`` kills the process with SIGKILL right before or right
  after the lock pulse of the next unlock: the power cut between intent, pulse and outcome.

Run: ``python tests/drills/controller_main.py --config FILE --port N [--die-at POINT]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import Request

from hardware.bank import build_bank
from hardware.layout import load_layout
from kiosk.app import create_app
from kiosk.server import serve
from locker.clock import OffsetClock
from locker.config import load_settings
from locker.ports import (
    CompartmentReading,
    CompartmentSpec,
    EventCallback,
    LockBank,
    UnlockResult,
    Unsubscribe,
)
from locker.services import accounts
from locker.vocabulary import Role
from runtime.controller import Controller


class DyingBank:
    """The real bank, but the process dies around the next unlock (a power cut)."""

    def __init__(self, bank: LockBank, die_at: str | None) -> None:
        self._bank = bank
        self._die_at = die_at

    def unlock(self, label: str) -> UnlockResult:
        if self._die_at == "unlock:before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = self._bank.unlock(label)
        if self._die_at == "unlock:after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    def compartments(self) -> Sequence[CompartmentSpec]:
        return self._bank.compartments()

    def read(self, label: str) -> CompartmentReading:
        return self._bank.read(label)

    def read_all(self) -> Mapping[str, CompartmentReading]:
        return self._bank.read_all()

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        return self._bank.subscribe(callback)

    def close(self) -> None:
        self._bank.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--die-at", choices=["unlock:before", "unlock:after"])
    parser.add_argument("--housekeeping-s", type=float, default=0.2)
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    assert settings.hardware.layout is not None
    real = build_bank(load_layout(settings.hardware.layout))
    bank = DyingBank(real, args.die_at)
    clock = OffsetClock()
    controller = Controller(
        settings,
        bank=bank,
        clock=clock,
        migrate_on_start=True,
        housekeeping_interval_s=args.housekeeping_s,
    ).start()
    try:
        key_file = settings.locker.data_dir / "drill.key"
        if not key_file.exists():
            key = accounts.create_api_key(
                controller.running, "drill", frozenset(Role), actor="drill"
            )
            key_file.write_text(key)
        app = create_app(settings, controller)

        @app.post("/drill/clock/advance")
        def advance(body: dict[str, float], request: Request) -> dict[str, Any]:
            clock.advance(float(body["seconds"]))
            assert controller.housekeeper is not None and controller.outbox is not None
            report = controller.housekeeper.run_now()
            controller.outbox.wake()
            return {"now": clock.now().isoformat(), "expired": report.expired}

        serve(app, controller, settings, "127.0.0.1", args.port)  # READY=1 once bound
    finally:
        controller.close()
        bank.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
