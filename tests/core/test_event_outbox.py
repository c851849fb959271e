"""The event outbox: what is written with each state change, and how sinks read it."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest
from sqlmodel import select

from locker import event_outbox, outbox
from locker.db import reading, transaction
from locker.errors import NotFound
from locker.models import OutboundEvent
from locker.services import housekeeping
from locker.services.deliveries import Announcement, announce, cancel
from locker.services.loading import start_loading
from locker.services.pickup import pickup
from locker.services.retrieval import start_retrieval
from locker.vocabulary import Channel, DocumentType

from ..conftest import make_settings
from .support import build_core, code_sent, load

NAME, PHONE_TYPED, PHONE, EMAIL = (
    "Erika Mustermann",
    "0151 23456789",
    "+4915123456789",
    "erika@x.org",
)
DOB = date(1990, 5, 17)
FACT_KEYS = {
    "delivery_id",
    "reference",
    "document_type",
    "state",
    "compartment",
    *event_outbox.DELIVERY_TIMES,
}


def citizen(core, reference: str) -> str:
    return announce(
        core,
        Announcement(
            reference=reference,
            document_type=DocumentType.PASSPORT,
            name=NAME,
            phone=PHONE_TYPED,
            email=EMAIL,
            date_of_birth=DOB,
        ),
        actor="test",
    ).id


def all_events(core) -> list[event_outbox.Event]:
    event_outbox.register_sink(core, "everything", from_start=True)
    return event_outbox.read_after(core, "everything", limit=10_000)


def types_of(core, delivery_id: str) -> list[str]:
    return [e.type for e in all_events(core) if e.delivery_id == delivery_id]


def collect(core, world, delivery_id: str) -> None:
    label = pickup(core, code_sent(core, delivery_id), date_of_birth=DOB, kiosk="k1").compartment
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)


def test_a_pickup_journey_writes_one_event_per_state_in_order(core, world, clock):
    d = citizen(core, "REF-1")
    label = load(core, world, d)
    clock.advance(hours=2)
    collect(core, world, d)
    events = [e for e in all_events(core) if e.delivery_id == d]
    assert [e.type for e in events] == [
        "delivery.announced",
        "delivery.loading",
        "delivery.stored",
        "delivery.collecting",
        "delivery.collected",
    ]
    assert [e.data["state"] for e in events] == [e.type.split(".")[1] for e in events]
    assert all(set(e.data) == FACT_KEYS for e in events)
    stored, collected = events[2], events[4]
    assert stored.data["compartment"] == collected.data["compartment"] == label
    assert stored.data["expires_at"] is not None and stored.data["collected_at"] is None
    assert collected.data["collected_at"] == clock.now().isoformat()
    assert collected.occurred_at == clock.now()
    assert collected.data["reference"] == "REF-1"
    assert collected.data["document_type"] == "passport"
    assert len({e.event_id for e in events}) == 5
    assert all(e.event_id.startswith("evt_") for e in events)


def test_expiry_retrieval_and_cancel_are_events_too(core, world, clock):
    expiring, cancelled = citizen(core, "REF-E"), citizen(core, "REF-C")
    load(core, world, expiring)
    clock.advance(days=core.settings.policy.pickup_days, seconds=1)
    housekeeping.expire_due(core)
    label = start_retrieval(core, expiring, actor="clerk")
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    cancel(core, cancelled, actor="clerk")
    assert types_of(core, expiring)[2:] == [
        "delivery.stored",
        "delivery.expired",
        "delivery.retrieving",
        "delivery.returned",
    ]
    assert types_of(core, cancelled) == ["delivery.announced", "delivery.cancelled"]


def test_an_undone_move_is_an_event_of_the_state_it_lands_in(core, world):
    d = citizen(core, "REF-U")
    world.slots["A01"].online = False  # the lock board does not answer: the door never opens
    assert start_loading(core, d, actor="clerk") != "A01"  # the next compartment is tried
    events = [e for e in all_events(core) if e.delivery_id == d]
    assert [e.type for e in events] == [
        "delivery.announced",
        "delivery.loading",
        "delivery.announced",
        "delivery.loading",
    ]
    assert events[2].data["state"] == "announced"


def test_no_event_holds_personal_data_in_a_whole_journey(core, world, clock):
    collected, returned = citizen(core, "REF-P1"), citizen(core, "REF-P2")
    load(core, world, collected)
    load(core, world, returned)
    clock.advance(days=3, seconds=1)
    housekeeping.run_due(core)  # a reminder
    collect(core, world, collected)
    clock.advance(days=core.settings.policy.pickup_days)
    housekeeping.run_due(core)
    label = start_retrieval(core, returned, actor="clerk")
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    [sms] = outbox.claim_due(core, [Channel.SMS], limit=1)
    assert outbox.record_dead(core, sms, reason="twilio 400/21211", actor="notify")

    events = all_events(core)
    assert {e.type for e in events} >= {
        "delivery.announced",
        "delivery.stored",
        "delivery.collected",
        "delivery.expired",
        "delivery.returned",
        "notification.dead",
    }
    written = json.dumps([e.data for e in events], ensure_ascii=False).lower()
    for personal in (NAME, "Erika", "Mustermann", PHONE_TYPED, PHONE, "23456789", EMAIL):
        assert personal.lower() not in written
    for birthday in (DOB.isoformat(), "17.05.1990", "1990"):
        assert birthday not in written
    assert code_sent(core, returned) not in written.upper()


def test_a_dead_message_is_an_event_with_its_channel(core, world):
    d = citizen(core, "REF-D")
    load(core, world, d)
    claims = {c.channel: c for c in outbox.claim_due(core, list(Channel), limit=10)}
    assert outbox.record_dead(core, claims[Channel.EMAIL], reason="smtp 550", actor="notify")
    sms = claims[Channel.SMS]
    assert outbox.record_dead(core, sms, reason="obsolete", actor="notify", dropped=True)
    [dead] = [e for e in all_events(core) if e.type == "notification.dead"]  # dropped: none
    assert dead.delivery_id == d
    assert dead.data["channel"] == "email" and dead.data["message"] == "stored"
    assert dead.data["state"] == "stored" and dead.data["reference"] == "REF-D"


def test_record_takes_any_type_but_refuses_personal_keys_and_odd_types(core):
    at = core.clock.now()
    with transaction(core.engine) as session:
        event_outbox.record(session, "alarm.raised", at=at, data={"why": "forced_open"})
        with pytest.raises(ValueError, match="personal data"):
            event_outbox.record(session, "alarm.raised", at=at, data={"phone": PHONE})
        with pytest.raises(ValueError, match="not of the form"):
            event_outbox.record(session, "Alarm raised", at=at, data={})
    [alarm] = all_events(core)
    assert (alarm.type, alarm.delivery_id, alarm.data) == (
        "alarm.raised",
        None,
        {"why": "forced_open"},
    )


def test_an_event_exists_only_if_its_state_change_committed(core):
    def failing_change() -> None:
        with transaction(core.engine) as session:
            event_outbox.record(session, "alarm.raised", at=core.clock.now(), data={})
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert all_events(core) == []


# -- sinks ------------------------------------------------------------------------------------


def alarms(core, count: int) -> None:
    with transaction(core.engine) as session:
        for n in range(count):
            event_outbox.record(session, "alarm.raised", at=core.clock.now(), data={"n": n})


def numbers(events: list[event_outbox.Event]) -> list[int]:
    return [e.data["n"] for e in events]


def test_a_sink_is_woken_once_per_commit_that_wrote_events_and_never_on_a_rollback(core):
    woken: list[int] = []
    stop = event_outbox.wake_on_events(core, lambda: woken.append(len(all_events(core))))
    alarms(core, 3)
    assert woken == [3]  # once, after the commit: the events are readable by then

    def rolled_back() -> None:
        with transaction(core.engine) as session:
            event_outbox.record(session, "alarm.raised", at=core.clock.now(), data={})
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    with transaction(core.engine) as session:
        session.exec(select(OutboundEvent)).all()  # a commit without events
    assert woken == [3]
    stop()
    alarms(core, 1)
    assert woken == [3]


def test_two_sinks_read_at_their_own_pace_in_order(core):
    event_outbox.register_sink(core, "webhooks")
    event_outbox.register_sink(core, "fleet")
    alarms(core, 10)
    first = event_outbox.read_after(core, "webhooks", limit=4)
    assert numbers(first) == [0, 1, 2, 3]
    assert event_outbox.advance(core, "webhooks", first[-1].id) == first[-1].id
    assert numbers(event_outbox.read_after(core, "webhooks", limit=100)) == [4, 5, 6, 7, 8, 9]
    assert numbers(event_outbox.read_after(core, "fleet", limit=100)) == list(range(10))
    assert event_outbox.cursors(core) == {"webhooks": first[-1].id, "fleet": 0}


def test_a_sink_with_events_in_flight_reads_on_after_the_last_it_sent(core):
    event_outbox.register_sink(core, "fleet")
    alarms(core, 6)
    sent = event_outbox.read_after(core, "fleet", limit=2)
    more = event_outbox.read_after(core, "fleet", limit=2, after=sent[-1].id)
    assert numbers(more) == [2, 3]
    event_outbox.advance(core, "fleet", more[-1].id)
    # never before the cursor, whatever it asks for
    assert numbers(event_outbox.read_after(core, "fleet", limit=9, after=0)) == [4, 5]


def test_a_crash_between_reading_and_advancing_sends_the_same_events_again(core):
    event_outbox.register_sink(core, "webhooks")
    alarms(core, 3)
    before_crash = event_outbox.read_after(core, "webhooks", limit=10)
    # delivered, then the process died before advance(): the next start reads them again
    after_restart = event_outbox.read_after(core, "webhooks", limit=10)
    assert after_restart == before_crash
    assert [e.event_id for e in after_restart] == [e.event_id for e in before_crash]


def test_a_cursor_never_moves_backwards_nor_past_the_newest_event(core):
    event_outbox.register_sink(core, "fleet")
    alarms(core, 3)
    ids = [e.id for e in event_outbox.read_after(core, "fleet", limit=10)]
    assert event_outbox.advance(core, "fleet", ids[2]) == ids[2]
    assert event_outbox.advance(core, "fleet", ids[0]) == ids[2]  # a late, older ack
    with pytest.raises(ValueError, match="does not exist"):
        event_outbox.advance(core, "fleet", ids[2] + 1)
    with pytest.raises(NotFound):
        event_outbox.read_after(core, "nobody")
    with pytest.raises(NotFound):
        event_outbox.advance(core, "nobody", ids[0])


def test_a_new_sink_starts_at_the_end_unless_asked_and_registering_again_keeps_its_cursor(core):
    alarms(core, 2)
    event_outbox.register_sink(core, "late")
    event_outbox.register_sink(core, "history", from_start=True)
    alarms(core, 1)
    assert numbers(event_outbox.read_after(core, "late")) == [0]
    assert numbers(event_outbox.read_after(core, "history")) == [0, 1, 0]
    [newest] = event_outbox.read_after(core, "late")
    event_outbox.advance(core, "late", newest.id)
    assert event_outbox.register_sink(core, "late", from_start=True) == newest.id
    with pytest.raises(ValueError, match="sink name"):
        event_outbox.register_sink(core, "Web Hooks")


def test_prune_keeps_what_a_sink_has_not_passed_and_what_is_recent(core, clock):
    event_outbox.register_sink(core, "webhooks")
    event_outbox.register_sink(core, "fleet")
    alarms(core, 4)
    old = event_outbox.read_after(core, "webhooks")
    event_outbox.advance(core, "webhooks", old[-1].id)
    event_outbox.advance(core, "fleet", old[1].id)  # the fleet link is behind
    clock.advance(days=core.settings.outbox.event_retention_days, seconds=1)
    alarms(core, 1)  # recent
    event_outbox.advance(core, "webhooks", event_outbox.read_after(core, "webhooks")[-1].id)
    assert event_outbox.prune(core) == 2  # the two old events both sinks passed
    assert numbers(event_outbox.read_after(core, "fleet")) == [2, 3, 0]
    assert event_outbox.prune(core) == 0


def test_ids_are_never_reused_after_everything_was_pruned(engine, clock, tmp_path, world):
    core = build_core(engine, clock, make_settings(tmp_path), world)
    alarms(core, 3)
    with reading(engine) as session:
        newest = max(e.id or 0 for e in session.exec(select(OutboundEvent)))
    clock.advance(days=core.settings.outbox.event_retention_days + 1)
    assert event_outbox.prune(core) == 3  # no sink registered: old events simply go
    event_outbox.register_sink(core, "fleet")
    alarms(core, 1)
    [fresh] = event_outbox.read_after(core, "fleet")
    assert fresh.id > newest


def test_a_sink_reading_while_others_write_misses_nothing_and_sees_the_order(core):
    event_outbox.register_sink(core, "fleet")
    writers = [
        threading.Thread(target=lambda: [alarms(core, 1) for _ in range(20)]) for _ in range(3)
    ]
    received: list[event_outbox.Event] = []
    done = threading.Event()

    def drain() -> None:
        while True:
            finished = done.is_set()
            batch = event_outbox.read_after(core, "fleet", limit=7)
            received.extend(batch)
            if batch:
                event_outbox.advance(core, "fleet", batch[-1].id)
            elif finished:
                return

    reader = threading.Thread(target=drain)
    reader.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    done.set()
    reader.join(60)
    ids = [e.id for e in received]
    assert len(ids) == 60 and ids == sorted(set(ids))
