"""The whole journey on the simulated bank (virtual CU16 boards behind a pty), as in the demo.

Clerk loads → the door closes on the document → the SMS and the e-mail leave at once → the
QR code in the e-mail opens the compartment → the door closes → the receipt goes out.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from locker import migrate
from locker.clock import ManualClock
from locker.config import load_settings
from locker.core import Core
from locker.db import make_engine
from locker.ports import EventKind, HardwareEvent
from locker.services import deliveries, doors, loading
from locker.services.compartments import sync_compartments
from locker.services.pickup import pickup
from locker.vocabulary import DocumentType
from notify import start_worker
from simulator.inbox import Inbox
from simulator.sim import simulated_bank
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin

from .conftest import BIRTHDAY, phone_number, qr_payload_of


class EventPump:
    """What the composition root does: bank events into the core, from a thread of its own."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.events: queue.Queue[HardwareEvent] = queue.Queue()
        self.handled: list[HardwareEvent] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-pump")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            doors.handle_event(self.core, event)
            with self._changed:
                self.handled.append(event)
                self._changed.notify_all()

    def wait_for(self, kind: EventKind, label: str, count: int = 1) -> None:
        def seen() -> bool:
            return sum(e.kind == kind and e.label == label for e in self.handled) >= count

        with self._changed:
            assert self._changed.wait_for(seen, timeout=10), f"no {kind} for {label}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_load_notify_and_collect_with_the_qr_code_on_the_simulated_bank(
    tmp_path: Path, twilio: TwilioStandin, smtp: SmtpStandin, inbox: Inbox
) -> None:
    with simulated_bank() as (bank, sim):
        settings = load_settings(
            overrides={
                "locker": {"demo": True, "bank_id": "b1"},
                "sms": twilio.settings(),
                "email": smtp.settings(),
            },
            environ={},
        )
        engine = make_engine(f"sqlite:///{tmp_path}/journey.db")
        migrate.upgrade(engine)
        core = Core(engine, ManualClock(), settings, bank)
        sync_compartments(core)
        pump = EventPump(core)
        unsubscribe = bank.subscribe(pump.events.put)
        runner = start_worker(core)
        try:
            delivery = deliveries.announce(
                core,
                deliveries.Announcement(
                    reference="PA-2026-0001",
                    document_type=DocumentType.PASSPORT,
                    name="Erika Mustermann",
                    phone=phone_number(),
                    email="erika@example.org",
                    date_of_birth=BIRTHDAY,
                ),
                actor="clerk:test",
            )
            label = loading.start_loading(core, delivery.id, actor="clerk:test")
            pump.wait_for(EventKind.DOOR_OPENED, label)
            assert len(inbox) == 0  # nothing is said before the document is inside
            sim.put_item(label)
            sim.close_door(label)
            sms, mail = sorted(inbox.wait_for_count(2), key=lambda m: m["channel"] != "sms")
            assert sms["code"] == mail["code"] is not None

            granted = pickup(core, qr_payload_of(mail["raw"]), date_of_birth=BIRTHDAY, kiosk="k1")
            assert granted.compartment == label
            pump.wait_for(EventKind.DOOR_OPENED, label, count=2)
            sim.take_item(label)
            sim.close_door(label)
            receipts = inbox.wait_for_count(4)[2:]
            assert all("abgeholt" in m["body"] for m in receipts)
        finally:
            runner.close()
            unsubscribe()
            pump.close()
            engine.dispose()
