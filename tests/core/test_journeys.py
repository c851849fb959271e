"""The main journeys of DESIGN.md through the core, against a small physical world."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, select

from locker import codes, event_outbox
from locker.audit import verify_chain
from locker.core import DomainEvent
from locker.db import reading
from locker.errors import (
    CodeExpired,
    CodeInvalid,
    CodeRevoked,
    CodeUsed,
    Conflict,
    DateOfBirthWrong,
    HardwareFault,
    HardwareUnavailable,
    IllegalTransition,
    InvalidInput,
    NoCompartmentFree,
    RateLimited,
    SecondFactorRequired,
    WrongLocker,
)
from locker.models import AuditEvent, Notification
from locker.ports import EventKind, HardwareEvent
from locker.services import housekeeping, technician
from locker.services.deliveries import cancel
from locker.services.doors import handle_event
from locker.services.loading import start_loading
from locker.services.pickup import pickup, verify
from locker.services.reconcile import reconcile
from locker.services.retrieval import start_retrieval
from locker.vocabulary import CompartmentState as C
from locker.vocabulary import DeliveryState as D
from locker.vocabulary import DocumentType, MessageKind, Size

from .scripted_bank import SMALL_BANK, ScriptedBank
from .support import build_core, code_sent, compartment, delivery, load, new_delivery

DOB = date(1990, 5, 17)


def messages(core, delivery_id):
    with reading(core.engine) as session:
        rows = session.exec(
            select(Notification).where(col(Notification.delivery_id) == delivery_id)
        ).all()
        return sorted((str(r.kind), str(r.channel)) for r in rows)


def test_load_then_collect(core, world):
    d = new_delivery(core, "REF-1")
    label = start_loading(core, d, actor="clerk")
    assert label == "A01"  # the smallest fitting compartment, away from accessible rows
    assert delivery(core, d).state == D.LOADING
    assert messages(core, d) == []  # nobody is told before the door is closed
    world.deliver(core)
    world.put(label, d)
    world.close_door(label)
    world.deliver(core)
    assert delivery(core, d).state == D.STORED
    assert compartment(core, label).state == C.OCCUPIED
    assert messages(core, d) == [("stored", "email"), ("stored", "sms")]

    code = code_sent(core, d)
    granted = pickup(core, codes.display(code).lower(), date_of_birth=DOB, kiosk="k1")
    assert granted.compartment == label
    world.deliver(core)
    assert world.take(label) == d
    world.close_door(label)
    world.deliver(core)
    assert delivery(core, d).state == D.COLLECTED
    assert compartment(core, label).state == C.FREE
    assert ("collected", "sms") in messages(core, d)
    with pytest.raises(CodeUsed):
        pickup(core, code, date_of_birth=DOB, kiosk="k1")
    assert world.slots[label].unlocks == 2  # one for loading, one for the pickup


def test_qr_payload_and_wrong_locker(core, world):
    d = new_delivery(core, "REF-QR")
    label = load(core, world, d)
    code = code_sent(core, d)
    with pytest.raises(WrongLocker):
        pickup(core, codes.qr_payload("other-bank", code), date_of_birth=DOB, kiosk="k1")
    assert (
        pickup(core, codes.qr_payload("test-bank", code), date_of_birth=DOB, kiosk="k1").compartment
        == label
    )


def test_second_factor(core, world):
    d = new_delivery(core, "REF-2")
    load(core, world, d)
    code = code_sent(core, d)
    with pytest.raises(SecondFactorRequired):
        pickup(core, code, date_of_birth=None, kiosk="k1")
    allowed = core.settings.security.delivery_max_failures
    with pytest.raises(DateOfBirthWrong) as wrong_dob:
        pickup(core, code, date_of_birth=date(1991, 5, 17), kiosk="k1")
    assert wrong_dob.value.tries_left == allowed - 1  # the code was right: the date is not
    with pytest.raises(CodeInvalid):
        pickup(core, "000000000000", date_of_birth=DOB, kiosk="k1")
    verify(core, code, date_of_birth=DOB, kiosk="k1")  # right, and nothing opened
    assert delivery(core, d).state == D.STORED
    pickup(core, code, date_of_birth=DOB, kiosk="k1")


def test_wrong_dates_of_birth_count_down_then_lock_the_delivery(core, world):
    d = new_delivery(core, "REF-2b")
    load(core, world, d)
    code = code_sent(core, d)
    allowed = core.settings.security.delivery_max_failures
    left = []
    for _ in range(allowed - 1):
        with pytest.raises(DateOfBirthWrong) as wrong:
            verify(core, code, date_of_birth=date(1991, 5, 17), kiosk="k1")
        left.append(wrong.value.tries_left)
    assert left == list(range(allowed - 1, 0, -1))
    with pytest.raises(RateLimited):
        pickup(core, code, date_of_birth=date(1991, 5, 17), kiosk="k1")
    with pytest.raises(RateLimited):  # locked now, even with the right date
        pickup(core, code, date_of_birth=DOB, kiosk="k1")


def test_driving_licence_needs_no_second_factor(core, world):
    d = new_delivery(core, "REF-DL", document_type=DocumentType.DRIVING_LICENCE, dob=None)
    label = load(core, world, d)
    assert pickup(core, code_sent(core, d), date_of_birth=None, kiosk="k1").compartment == label


def test_id_card_must_be_announced_with_birth_date(core):
    with pytest.raises(InvalidInput) as err:
        new_delivery(core, "REF-ID", document_type=DocumentType.ID_CARD, dob=None)
    assert err.value.field == "recipient.date_of_birth"


def test_duplicate_reference_and_bad_contacts(core):
    new_delivery(core, "REF-3")
    with pytest.raises(Conflict):
        new_delivery(core, "REF-3")
    from locker.services.deliveries import Announcement, announce

    with pytest.raises(InvalidInput) as err:
        announce(core, Announcement("R4", DocumentType.OTHER, "X", phone="12"), actor="t")
    assert err.value.field == "recipient.phone"
    with pytest.raises(InvalidInput) as err:
        announce(core, Announcement("R5", DocumentType.OTHER, "X", email="no-at"), actor="t")
    assert err.value.field == "recipient.email"
    with pytest.raises(InvalidInput) as err:
        announce(core, Announcement("R6", DocumentType.OTHER, "X"), actor="t")
    assert err.value.field == "recipient"


def test_phone_is_normalised_to_e164(core):
    d = new_delivery(core, "REF-P")
    assert delivery(core, d).recipient_phone == "+4915123456789"


def test_allocation_by_size_and_accessibility(core, world):
    big = new_delivery(core, "BIG", size=Size.L)
    assert start_loading(core, big, actor="clerk") == "A05"
    reachable = new_delivery(core, "ACC", accessible=True)
    assert compartment(core, start_loading(core, reachable, actor="clerk")).row in (2, 3)
    medium = new_delivery(core, "MED", size=Size.M)
    assert start_loading(core, medium, actor="clerk") in ("A03", "A04")
    other = new_delivery(core, "LARGE2", size=Size.L)
    with pytest.raises(NoCompartmentFree):
        start_loading(core, other, actor="clerk")
    assert delivery(core, other).state == D.ANNOUNCED


def test_expiry_then_retrieval(core, world, clock):
    d = new_delivery(core, "REF-E")
    label = load(core, world, d)
    code = code_sent(core, d)
    clock.advance(days=14, seconds=1)
    with pytest.raises(CodeExpired):
        pickup(core, code, date_of_birth=DOB, kiosk="k1")
    assert housekeeping.expire_due(core) == [d]
    assert ("expiry", "sms") in messages(core, d)
    with pytest.raises(CodeExpired):  # still told what to do, never opened
        pickup(core, code, date_of_birth=DOB, kiosk="k1")
    assert start_retrieval(core, d, actor="clerk") == label
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    assert delivery(core, d).state == D.RETURNED
    assert compartment(core, label).state == C.FREE
    with pytest.raises(CodeExpired):  # a late citizen is still told what happened
        pickup(core, code, date_of_birth=DOB, kiosk="k1")


def test_cancel_stored_waits_for_retrieval(core, world):
    d = new_delivery(core, "REF-C")
    label = load(core, world, d)
    cancel(core, d, actor="office")
    assert delivery(core, d).state == D.CANCELLED
    assert compartment(core, label).state == C.OCCUPIED
    with pytest.raises(CodeRevoked):
        pickup(core, code_sent(core, d), date_of_birth=DOB, kiosk="k1")
    start_retrieval(core, d, actor="clerk")
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    assert delivery(core, d).state == D.RETURNED
    with pytest.raises(IllegalTransition):
        cancel(core, d, actor="office")


def test_board_offline_keeps_code_valid(core, world):
    d = new_delivery(core, "REF-O")
    label = load(core, world, d)
    code = code_sent(core, d)
    world.slots[label].online = False
    with pytest.raises(HardwareUnavailable):
        pickup(core, code, date_of_birth=DOB, kiosk="k1")
    assert delivery(core, d).state == D.STORED
    world.slots[label].online = True
    assert pickup(core, code, date_of_birth=DOB, kiosk="k1").compartment == label


def test_jammed_lock_one_more_try_then_fault_and_still_collectable(core, world):
    d = new_delivery(core, "REF-J")
    label = load(core, world, d)
    code = code_sent(core, d)
    world.slots[label].jammed = True
    with pytest.raises(HardwareFault):
        pickup(core, code, date_of_birth=DOB, kiosk="k1")
    assert compartment(core, label).state == C.FAULT
    assert delivery(core, d).state == D.STORED
    with pytest.raises(HardwareFault):  # not pulsed again while in fault
        pickup(core, code, date_of_birth=DOB, kiosk="k1")
    with reading(core.engine) as session:
        alerts = session.exec(select(AuditEvent).where(col(AuditEvent.alert))).all()
        assert any(e.kind == "compartment_fault" for e in alerts)
    world.slots[label].jammed = False
    technician.clear_fault(core, label, document_inside=True, actor="tech")
    assert pickup(core, code, date_of_birth=DOB, kiosk="k1").compartment == label


def test_lock_fault_event_undoes_pickup(core, world):
    d = new_delivery(core, "REF-LF")
    label = load(core, world, d)
    pickup(core, code_sent(core, d), date_of_birth=DOB, kiosk="k1")
    world.lose_events()
    world.slots[label].door_open = False
    handle_event(core, HardwareEvent(EventKind.LOCK_FAULT, label=label))
    assert compartment(core, label).state == C.FAULT
    assert delivery(core, d).state == D.STORED


def test_forced_door_is_an_alarm(core, world):
    d = new_delivery(core, "REF-F")
    label = load(core, world, d)
    handle_event(core, HardwareEvent(EventKind.FORCED_OPEN, label=label))
    assert compartment(core, label).state == C.FAULT
    with reading(core.engine) as session:
        assert session.exec(
            select(AuditEvent).where(col(AuditEvent.kind) == "forced_open", col(AuditEvent.alert))
        ).first()


def test_door_left_open_alarm(core, world, clock):
    d = new_delivery(core, "REF-DO")
    label = start_loading(core, d, actor="clerk")
    world.deliver(core)
    assert housekeeping.alarm_open_doors(core) == []
    clock.advance(seconds=core.settings.hardware.door_open_alarm_s + 1)
    assert housekeeping.alarm_open_doors(core) == [label]
    assert housekeeping.alarm_open_doors(core) == []  # one alarm, not one a minute


def test_rate_limit_and_growing_lockout(core, world, clock):
    d = new_delivery(core, "REF-R")
    load(core, world, d)
    code = code_sent(core, d)
    for _ in range(core.settings.security.kiosk_max_failures - 1):
        with pytest.raises(CodeInvalid):
            pickup(core, "000000000000", date_of_birth=DOB, kiosk="k1")
    with pytest.raises(RateLimited) as first:
        pickup(core, "000000000000", date_of_birth=DOB, kiosk="k1")
    assert first.value.retry_after_s == core.settings.security.kiosk_lockout_base_s
    with pytest.raises(RateLimited):  # even the right code waits
        pickup(core, code, date_of_birth=DOB, kiosk="k1")
    # another kiosk is not locked out
    with pytest.raises(CodeInvalid):
        pickup(core, "000000000001", date_of_birth=DOB, kiosk="k2")
    clock.advance(seconds=core.settings.security.kiosk_lockout_base_s + 1)
    for _ in range(core.settings.security.kiosk_max_failures - 1):
        with pytest.raises(CodeInvalid):
            pickup(core, "000000000000", date_of_birth=DOB, kiosk="k1")
    with pytest.raises(RateLimited) as second:
        pickup(core, "000000000000", date_of_birth=DOB, kiosk="k1")
    assert second.value.retry_after_s == 2 * first.value.retry_after_s  # the back-off doubles
    clock.advance(seconds=second.value.retry_after_s + 1)
    pickup(core, code, date_of_birth=DOB, kiosk="k1")


def test_wrong_birth_dates_lock_the_delivery(core, world, clock):
    d = new_delivery(core, "REF-DOB")
    load(core, world, d)
    code = code_sent(core, d)
    for kiosk in ("k1", "k2"):
        with pytest.raises(DateOfBirthWrong):
            pickup(core, code, date_of_birth=date(2000, 1, 1), kiosk=kiosk)
    with pytest.raises(RateLimited):  # the third wrong date locks it
        pickup(core, code, date_of_birth=date(2000, 1, 2), kiosk="k3")
    with pytest.raises(RateLimited) as locked:  # from any kiosk
        pickup(core, code, date_of_birth=DOB, kiosk="k4")
    assert locked.value.retry_after_s == core.settings.security.delivery_lockout_base_s
    clock.advance(seconds=core.settings.security.delivery_lockout_base_s + 1)
    pickup(core, code, date_of_birth=DOB, kiosk="k4")


def test_malformed_code_is_explained_and_not_counted(core):
    for _ in range(20):
        with pytest.raises(CodeInvalid) as err:
            pickup(core, "12-34", date_of_birth=None, kiosk="k1")
        assert "12 letters and digits" in str(err.value)


def test_personal_data_erased_after_retention(core, world, clock, settings):
    d = new_delivery(core, "REF-PD")
    label = load(core, world, d)
    pickup(core, code_sent(core, d), date_of_birth=DOB, kiosk="k1")
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    assert housekeeping.erase_due(core) == [d]
    gone = delivery(core, d)
    assert (
        gone.recipient_name,
        gone.recipient_phone,
        gone.recipient_email,
        gone.date_of_birth,
    ) == (None, None, None, None)
    assert gone.reference == "REF-PD"  # the office can still trace it


def test_reminders(core, world, clock):
    d = new_delivery(core, "REF-REM")
    load(core, world, d)
    assert housekeeping.remind_due(core) == []
    clock.advance(days=3, seconds=1)
    assert housekeeping.remind_due(core) == [d]
    assert housekeeping.remind_due(core) == []
    clock.advance(days=9)  # 2 days before the 14-day expiry
    assert housekeeping.remind_due(core) == [d]
    with reading(core.engine) as session:
        rows = session.exec(
            select(Notification).where(col(Notification.kind) == MessageKind.REMINDER)
        ).all()
        assert len(rows) == 4  # two reminders, SMS and e-mail each


@pytest.mark.parametrize("item_sensor", [True, False])
def test_reconcile_after_power_cut_during_loading(engine, clock, settings, item_sensor):
    world = ScriptedBank.bank_of(SMALL_BANK, item_sensor=item_sensor)
    core = build_core(engine, clock, settings, world)
    d = new_delivery(core, "REF-PC")
    label = start_loading(core, d, actor="clerk")
    world.put(label, d)  # the door sprang open; the clerk puts the document in...
    world.close_door(label)
    world.lose_events()  # ...and the power was cut before the controller saw any of it
    restarted = build_core(engine, clock, settings, world)
    report = reconcile(restarted)
    if item_sensor:
        assert report.completed == [label]
        assert delivery(restarted, d).state == D.STORED
    else:
        assert report.faulted == [label]
        assert compartment(restarted, label).state == C.FAULT
        technician.clear_fault(restarted, label, document_inside=True, actor="tech")
        assert delivery(restarted, d).state == D.STORED


@pytest.mark.parametrize("item_sensor", [True, False])
def test_reconcile_tells_the_live_screens_what_it_undid_or_faulted(
    engine, clock, settings, item_sensor
):
    world = ScriptedBank.bank_of(SMALL_BANK, item_sensor=item_sensor)
    core = build_core(engine, clock, settings, world)
    d = new_delivery(core, "REF-UNDO")
    label = start_loading(core, d, actor="clerk")
    world.close_door(label)  # the clerk shut it empty...
    world.lose_events()  # ...and the power was cut before the controller saw it
    restarted = build_core(engine, clock, settings, world)
    published = []
    restarted.listen(published.append)
    event_outbox.register_sink(restarted, "test-sink")
    report = reconcile(restarted)
    if item_sensor:
        assert report.undone == [label]
        assert delivery(restarted, d).state == D.ANNOUNCED
        assert published == [
            DomainEvent("delivery_announced", d, label, {"why": "reconciled_undo"})
        ]
        written = event_outbox.read_after(restarted, "test-sink")
        assert [(e.type, e.delivery_id) for e in written] == [("delivery.announced", d)]
    else:
        assert report.faulted == [label]
        [alarm] = [e for e in published if e.kind == "alarm"]
        assert (alarm.kind, alarm.delivery_id, alarm.compartment) == ("alarm", d, label)
        assert alarm.data["why"] == "reconciled_fault"
        [raised] = [e for e in published if e.kind == "alarm_changed"]  # the alarm table's
        assert (raised.compartment, raised.data) == (label, {"kind": "fault", "what": "raised"})


def test_every_change_is_audited_and_chain_verifies(core, world):
    d = new_delivery(core, "REF-A")
    load(core, world, d)
    with reading(core.engine) as session:
        report = verify_chain(session)
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert report.ok and report.checked == len(kinds)
    assert "delivery_loading" in kinds and "delivery_stored" in kinds


class ReadWhilePickingUp(ScriptedBank):
    """A bank whose door reading is slow enough for a pickup to start meanwhile."""

    meanwhile = None

    def read_all(self):
        readings = super().read_all()
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return readings


def test_reconcile_leaves_an_intent_newer_than_its_reading_alone(engine, clock, settings):
    world = ReadWhilePickingUp.bank_of(SMALL_BANK)
    core = build_core(engine, clock, settings, world)
    d = new_delivery(core, "REF-RACE")
    label = load(core, world, d)
    code = code_sent(core, d)

    def citizen_arrives():
        clock.advance(seconds=1)
        pickup(core, code, date_of_birth=DOB, kiosk="k1")

    world.meanwhile = citizen_arrives
    report = reconcile(core, labels=[label])  # as when the board came back online
    assert label in report.waiting and not report.undone
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    assert delivery(core, d).state == D.COLLECTED
    assert compartment(core, label).state == C.FREE
