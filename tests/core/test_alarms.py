"""Allocation skips what cannot open; alarms are raised and cleared by the core, acknowledged
by a clerk, carried to the event outbox and, if set, to the on-call contact."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from locker import alarms, outbox
from locker.audit import PERSONAL_KEYS
from locker.db import reading
from locker.errors import IllegalTransition, InvalidInput
from locker.models import AuditEvent, Notification, OutboundEvent
from locker.ports import EventKind, HardwareEvent
from locker.services import deliveries, housekeeping, retrieval, technician
from locker.services.doors import handle_event
from locker.services.loading import load as start
from locker.vocabulary import AlarmKind, AlarmState, Channel, MessageKind, Size

from ..conftest import make_settings
from .support import build_core, compartment, load, new_delivery

ONCALL = "+4915199900011"


def kinds_not_cleared(core) -> list[tuple[str, str | None]]:
    return [(str(a.kind), a.compartment or a.board) for a in alarms.not_cleared(core)]


def board(core, kind: EventKind, *labels: str) -> None:
    handle_event(core, HardwareEvent(kind, board="rs485:0", labels=labels, detail="timeout"))


def test_an_offline_board_is_never_chosen_and_raises_one_alarm_until_it_answers(core, world):
    for label in ("A01", "A06"):
        world.slots[label].online = False
    board(core, EventKind.BOARD_OFFLINE, "A01", "A06")
    board(core, EventKind.BOARD_OFFLINE, "A01", "A06")  # said twice: still one alarm
    assert kinds_not_cleared(core) == [("board_offline", "rs485:0")]
    assert compartment(core, "A01").offline
    loading = start(core, new_delivery(core, "R-1"), actor="clerk")
    assert loading.compartment == "A02"
    assert loading.skipped == ()
    for label in ("A01", "A06"):
        world.slots[label].online = True
    board(core, EventKind.BOARD_ONLINE, "A01", "A06")
    assert kinds_not_cleared(core) == []
    assert not compartment(core, "A01").offline
    assert start(core, new_delivery(core, "R-2"), actor="clerk").compartment == "A01"


def test_a_lock_that_does_not_answer_is_skipped_for_the_next_and_the_clerk_told(core, world):
    world.slots["A01"].online = False  # no board event yet: the unlock finds it out
    loading = start(core, new_delivery(core, "R-1"), actor="clerk")
    assert loading.compartment == "A06"
    assert [(s.label, s.reason) for s in loading.skipped] == [("A01", "offline")]


def test_a_jammed_lock_is_skipped_goes_to_fault_with_an_alarm_cleared_by_the_technician(
    core, world
):
    world.slots["A01"].jammed = True
    loading = start(core, new_delivery(core, "R-1"), actor="clerk")
    assert loading.compartment == "A06"
    assert [(s.label, s.reason) for s in loading.skipped] == [("A01", "jam")]
    assert str(compartment(core, "A01").state) == "fault"
    assert kinds_not_cleared(core) == [("jam", "A01")]
    world.slots["A01"].jammed = False
    technician.clear_fault(core, "A01", document_inside=False, actor="user:tech")
    assert kinds_not_cleared(core) == []
    assert [a.state for a in alarms.listed(core)] == [AlarmState.CLEARED]


def test_a_larger_size_when_the_right_one_cannot_be_used_says_why(core, world):
    for label in ("A01", "A02", "A06"):
        world.slots[label].online = False
    board(core, EventKind.BOARD_OFFLINE, "A01", "A02")
    loading = start(core, new_delivery(core, "R-1", size=Size.S), actor="clerk")
    assert (loading.requested_size, loading.size) == (Size.S, Size.M)
    assert loading.compartment in ("A03", "A04")
    assert [(s.label, s.reason) for s in loading.skipped] == [("A06", "offline")]
    assert loading.unusable == {"offline": 3}


def test_a_forced_door_is_an_alarm_a_clerk_acknowledges_with_a_note(core, world):
    label = load(core, world, new_delivery(core, "R-1"))
    world.slots[label].door_open = True
    handle_event(core, HardwareEvent(EventKind.FORCED_OPEN, label=label))
    [alarm] = alarms.not_cleared(core)
    assert (alarm.kind, alarm.compartment, alarm.state) == (
        AlarmKind.FORCED_DOOR,
        label,
        AlarmState.OPEN,
    )
    with pytest.raises(InvalidInput):
        alarms.acknowledge(core, alarm.id, note="   ", actor="user:clerk1")
    seen = alarms.acknowledge(core, alarm.id, note="Hausmeister informiert", actor="user:clerk1")
    assert (seen.state, seen.acknowledged_by, seen.note) == (
        AlarmState.ACKNOWLEDGED,
        "user:clerk1",
        "Hausmeister informiert",
    )
    with pytest.raises(IllegalTransition):
        alarms.acknowledge(core, alarm.id, note="noch einmal", actor="user:clerk1")
    with reading(core.engine) as session:
        audited = session.exec(
            select(AuditEvent).where(col(AuditEvent.kind) == "alarm_acknowledged")
        ).one()
    assert audited.actor == "user:clerk1"
    assert audited.detail["note"] == "Hausmeister informiert"
    world.slots[label].door_open = False
    handle_event(core, HardwareEvent(EventKind.DOOR_CLOSED, label=label))
    assert kinds_not_cleared(core) == [("forced_door", label)]  # still in fault: a person looks
    technician.clear_fault(core, label, document_inside=True, actor="user:tech")
    assert kinds_not_cleared(core) == []


def test_a_door_left_open_is_an_alarm_until_it_closes(core, world, clock):
    label = load(core, world, new_delivery(core, "R-1"))
    technician.open_for_service(core, label, reason="check", actor="user:tech")
    world.deliver(core)
    clock.advance(seconds=core.settings.hardware.door_open_alarm_s + 1)
    housekeeping.run_due(core)
    assert kinds_not_cleared(core) == [("door_left_open", label)]
    world.close_door(label)
    world.deliver(core)
    assert kinds_not_cleared(core) == []


def test_a_dead_message_is_an_alarm_until_the_delivery_ends(core, world):
    delivery_id = new_delivery(core, "R-1")
    label = load(core, world, delivery_id)
    for claim in outbox.claim_due(core, list(Channel), limit=10):
        outbox.record_dead(core, claim, reason="21211 invalid number", actor="notify")
    [alarm] = alarms.not_cleared(core)
    assert (alarm.kind, alarm.delivery_id) == (AlarmKind.MESSAGE_DEAD, delivery_id)
    technician.open_for_service(core, label, reason="handed over", actor="user:tech")
    assert kinds_not_cleared(core) == [("message_dead", None)]


def test_low_capacity_is_raised_and_cleared_and_every_change_is_an_impersonal_event(
    engine, clock, tmp_path, world
):
    settings = make_settings(tmp_path, alarms={"low_capacity_free": 5, "oncall_phone": ONCALL})
    core = build_core(engine, clock, settings, world)
    first_id = new_delivery(core, "R-1")
    first = load(core, world, first_id)
    assert kinds_not_cleared(core) == []
    load(core, world, new_delivery(core, "R-2"))
    assert kinds_not_cleared(core) == [("low_capacity", None)]
    deliveries.cancel(core, first_id, actor="user:clerk1")
    retrieval.start_retrieval(core, first_id, actor="user:clerk1")
    world.deliver(core)
    world.take(first)
    world.close_door(first)
    world.deliver(core)
    assert kinds_not_cleared(core) == []
    with reading(core.engine) as session:
        events = session.exec(
            select(OutboundEvent).where(col(OutboundEvent.type).startswith("alarm."))
        ).all()
        alerts = session.exec(
            select(Notification).where(col(Notification.kind) == MessageKind.ALARM)
        ).all()
    assert [e.type for e in events] == ["alarm.raised", "alarm.cleared"]
    for event in events:
        assert not PERSONAL_KEYS.intersection(event.data)
        assert event.data["kind"] == "low_capacity"
    [alert] = alerts
    assert (alert.channel, alert.recipient, alert.delivery_id) == (Channel.SMS, ONCALL, None)
    assert alert.context["alarm_id"] == events[0].data["alarm_id"]
    assert set(alert.context) == {"alarm_id", "alarm_kind", "place", "location"}


def test_alarms_are_listed_open_first_then_acknowledged_then_cleared(core, world, clock):
    board(core, EventKind.BOARD_OFFLINE, "A05")
    clock.advance(minutes=1)
    world.slots["A01"].jammed = True
    start(core, new_delivery(core, "R-1"), actor="clerk")
    board_alarm, jam = sorted(alarms.not_cleared(core), key=lambda a: a.raised_at)
    alarms.acknowledge(core, board_alarm.id, note="Techniker kommt", actor="user:clerk1")
    board(core, EventKind.BOARD_ONLINE, "A05")
    assert [a.id for a in alarms.listed(core)] == [jam.id, board_alarm.id]
    clock.advance(minutes=1)
    handle_event(core, HardwareEvent(EventKind.BOARD_OFFLINE, board="rs485:1", labels=("A06",)))
    listed = alarms.listed(core)
    assert [a.state for a in listed] == [AlarmState.OPEN, AlarmState.OPEN, AlarmState.CLEARED]
    assert listed[0].board == "rs485:1"  # the newest open one first
    assert [a.id for a in alarms.listed(core, AlarmState.CLEARED)] == [board_alarm.id]
