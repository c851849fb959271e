"""The whole journey on the simulated bank (virtual CU16 boards behind a pty), as in the demo.

Clerk loads → the door closes on the document → the SMS and the e-mail leave at once → the
QR code in the e-mail opens the compartment → the door closes → the receipt goes out.
"""

from __future__ import annotations

from pathlib import Path

from locker.clock import ManualClock
from locker.config import load_settings
from locker.core import DomainEvent
from locker.services import deliveries, loading
from locker.services.pickup import pickup
from locker.vocabulary import DocumentType
from runtime.controller import Controller
from simulator.inbox import Inbox
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin
from simulator.virtual_hardware import simulated_bank

from ..waiting import Changes
from .conftest import BIRTHDAY, phone_number, qr_payload_of


class Seen:
    """The core's domain events, to wait on (woken by each one)."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self._changed = Changes()

    def __call__(self, event: DomainEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify()

    def wait_for(self, kind: str, label: str, count: int = 1) -> None:
        def seen() -> bool:
            return sum(e.kind == kind and e.compartment == label for e in self.events) >= count

        self._changed.wait_for(seen, what=f"{count} {kind} for {label}")


def test_load_notify_and_collect_with_the_qr_code_on_the_simulated_bank(
    tmp_path: Path, twilio: TwilioStandin, smtp: SmtpStandin, inbox: Inbox
) -> None:
    with simulated_bank() as (bank, sim):
        settings = load_settings(
            overrides={
                "locker": {"demo": True, "bank_id": "b1", "data_dir": str(tmp_path)},
                "sms": twilio.settings(),
                "email": smtp.settings(),
            },
            environ={},
        )
        controller = Controller(settings, bank=bank, clock=ManualClock(), migrate_on_start=True)
        with controller:
            core = controller.running
            seen = Seen()
            core.listen(seen)
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
            seen.wait_for("door_opened", label)
            assert len(inbox) == 0  # nothing is said before the document is inside
            sim.put_item(label)
            sim.close_door(label)
            sms, mail = sorted(inbox.wait_for_count(2), key=lambda m: m["channel"] != "sms")
            assert sms["code"] == mail["code"] is not None

            granted = pickup(core, qr_payload_of(mail["raw"]), date_of_birth=BIRTHDAY, kiosk="k1")
            assert granted.compartment == label
            seen.wait_for("door_opened", label, count=2)
            sim.take_item(label)
            sim.close_door(label)
            receipts = inbox.wait_for_count(4)[2:]
            assert all("abgeholt" in m["body"] for m in receipts)
