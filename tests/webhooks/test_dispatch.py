"""Webhooks end to end: the core's events, signed, sent to a real receiver on 127.0.0.1 that
verifies them with the reference library; outages, crashes, rotation, 410 and retries."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from locker import codes, event_outbox, webhooks
from locker.db import reading
from locker.models import AuditEvent, WebhookMessage
from locker.services import housekeeping
from locker.services.deliveries import cancel
from locker.services.pickup import pickup
from locker.services.retrieval import start_retrieval
from locker.vocabulary import WebhookState
from webhooks import WebhookDispatcher

from ..core.support import code_sent, load, new_delivery
from .conftest import drain, subscribe

DOB = date(1990, 5, 17)
PERSONAL = ["Erika", "Mustermann", "+4915123456789", "15123456789", "erika@example.org"]
PERSONAL += ["1990-05-17", "17.05.1990", "19900517"]


def collect(core, world, reference: str) -> str:
    """Announce, load, pick up: announced, stored, collected."""
    delivery_id = new_delivery(core, reference)
    label = load(core, world, delivery_id)
    pickup(core, codes.display(code_sent(core, delivery_id)), date_of_birth=DOB, kiosk="k1")
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    return delivery_id


def expected_events(core, delivery_ids, types=webhooks.EVENT_TYPES):
    return [
        e.event_id for d in delivery_ids for e in event_outbox.events_of(core, d) if e.type in types
    ]


def test_a_whole_journey_arrives_signed_and_impersonal(core, world, clock, receiver, dispatcher):
    subscribe(core, receiver)
    collected = collect(core, world, "REF-C")
    expired = new_delivery(core, "REF-E")
    label = load(core, world, expired)
    clock.advance(days=15)
    housekeeping.expire_due(core)
    start_retrieval(core, expired, actor="clerk")
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    withdrawn = new_delivery(core, "REF-X")
    cancel(core, withdrawn, actor="office")
    drain(dispatcher)

    got = receiver.wait_for(len(expected_events(core, [collected, expired, withdrawn])))
    assert receiver.rejected == []
    assert receiver.types_of(collected) == [
        "delivery.announced",
        "delivery.stored",
        "delivery.collected",
    ]
    assert receiver.types_of(expired) == [
        "delivery.announced",
        "delivery.stored",
        "delivery.expired",
        "delivery.returned",
    ]
    assert receiver.types_of(withdrawn) == ["delivery.announced", "delivery.cancelled"]
    stored = next(r for r in got if r.payload["type"] == "delivery.stored")
    assert set(stored.payload) == {"type", "timestamp", "data"}
    data = stored.payload["data"]
    assert data["reference"] == "REF-C" and data["state"] == "stored"
    assert data["document_type"] == "passport" and data["compartment"]
    assert data["stored_at"] and data["expires_at"]
    for request in got:  # the whole journey, every byte sent
        for value in PERSONAL:
            assert value not in request.body, (value, request.payload["type"])
        assert request.signature.startswith("v1,")


def test_receiver_down_for_an_hour_gets_everything_afterwards_in_order(
    core, world, clock, receiver, dispatcher
):
    endpoint = subscribe(core, receiver, ["delivery.announced", "delivery.stored"])
    receiver.down()
    first = new_delivery(core, "REF-1")
    second = new_delivery(core, "REF-2")
    load(core, world, first)
    for minute in range(0, 61, 5):  # an hour of virtual time with the receiver away
        drain(dispatcher)
        if minute == 30:
            load(core, world, second)
        clock.advance(minutes=5)
    assert receiver.received == []

    receiver.up()
    for _ in range(24):  # the retries fall due by the schedule
        clock.advance(minutes=10)
        drain(dispatcher)
    wanted = expected_events(core, [first, second], ("delivery.announced", "delivery.stored"))
    receiver.wait_for(len(wanted))
    assert sorted(receiver.ids()) == sorted(wanted)  # none lost, none twice
    assert receiver.types_of(first) == ["delivery.announced", "delivery.stored"]
    assert receiver.types_of(second) == ["delivery.announced", "delivery.stored"]
    assert webhooks.get_endpoint(core, endpoint).pending == 0


def test_a_later_event_waits_for_the_earlier_one_of_its_delivery(
    core, world, clock, receiver, dispatcher
):
    subscribe(core, receiver, ["delivery.announced", "delivery.stored"])
    receiver.status = 500
    delivery_id = new_delivery(core, "REF-O")
    drain(dispatcher)  # announced fails once
    load(core, world, delivery_id)
    drain(dispatcher)  # stored is held back behind it: not even tried
    assert len(receiver.received) == 1
    receiver.status = 204
    clock.advance(seconds=6)
    drain(dispatcher)
    assert receiver.types_of(delivery_id) == [
        "delivery.announced",  # the failed attempt
        "delivery.announced",
        "delivery.stored",
    ]


def test_a_crash_between_sending_and_recording_sends_again_with_the_same_id(
    core, world, clock, receiver, dispatcher, settings
):
    subscribe(core, receiver, ["delivery.announced"])
    new_delivery(core, "REF-K")
    assert webhooks.fan_out(core) == 1
    [claim] = webhooks.claim_due(core)
    dispatcher.send(claim)  # the receiver has it; the process dies before recording
    receiver.wait_for(1)

    restarted = WebhookDispatcher(core)
    try:
        drain(restarted)
        assert len(receiver.received) == 1  # the lease still runs
        clock.advance(seconds=settings.webhooks.lease_s + 1)
        drain(restarted)
    finally:
        restarted.close()
    first, again = receiver.wait_for(2)
    assert first.webhook_id == again.webhook_id == claim.webhook_id
    assert first.body == again.body
    assert [m.state for m in webhooks.messages(core)] == ["sent"]


def test_rotation_signs_with_both_secrets_for_the_grace_period(
    core, clock, receiver, dispatcher, settings
):
    endpoint = subscribe(core, receiver, ["delivery.announced"])
    old = receiver.secret
    _, new = webhooks.rotate_secret(core, endpoint, actor="admin")
    assert new != old and new.startswith("whsec_")

    new_delivery(core, "REF-R1")
    drain(dispatcher)  # the receiver still holds the old secret
    [one] = receiver.wait_for(1)
    assert len(one.signature.split(" ")) == 2
    receiver.secret = new
    new_delivery(core, "REF-R2")
    drain(dispatcher)
    receiver.wait_for(2)

    clock.advance(hours=settings.webhooks.rotation_grace_hours, seconds=1)
    receiver.secret = old
    new_delivery(core, "REF-R3")
    drain(dispatcher)
    assert len(receiver.rejected) == 1  # the old secret no longer signs
    receiver.secret = new
    clock.advance(seconds=6)
    drain(dispatcher)
    last = receiver.wait_for(3)[-1]
    assert len(last.signature.split(" ")) == 1


def test_410_gone_disables_the_endpoint(core, world, clock, receiver, dispatcher):
    endpoint = subscribe(core, receiver, ["delivery.announced"])
    receiver.status = 410
    new_delivery(core, "REF-G1")
    new_delivery(core, "REF-G2")
    drain(dispatcher)
    assert len(receiver.received) == 1  # the second was claimed in the same pass, not sent
    view = webhooks.get_endpoint(core, endpoint)
    assert not view.enabled and view.disabled_reason and "410" in view.disabled_reason
    new_delivery(core, "REF-G3")
    clock.advance(hours=12)
    drain(dispatcher)
    assert len(receiver.received) == 1
    with reading(core.engine) as session:
        kinds = session.exec(select(AuditEvent.kind).where(col(AuditEvent.alert) == True)).all()
    assert "webhook_disabled" in kinds


def test_retry_schedule_then_dead_then_redeliver(core, clock, receiver, dispatcher):
    subscribe(core, receiver, ["delivery.announced"])
    receiver.status = 503
    new_delivery(core, "REF-D")
    start = clock.now()
    tried_at = []
    for _ in range(webhooks.MAX_ATTEMPTS + 1):
        before = len(receiver.received)
        drain(dispatcher)
        if len(receiver.received) > before:
            tried_at.append(clock.now() - start)
        if webhooks.messages(core, state=WebhookState.DEAD):
            break
        [waiting] = webhooks.messages(core)
        assert waiting.next_attempt_at is not None
        clock.set(waiting.next_attempt_at)  # jump to the next attempt, not a second earlier
    waits = [b - a for a, b in itertools.pairwise(tried_at)]
    assert len(tried_at) == webhooks.MAX_ATTEMPTS
    for wait, planned in zip(waits, webhooks.RETRY_DELAYS_S, strict=True):
        assert timedelta(seconds=planned) <= wait <= timedelta(seconds=planned * 1.1)
    [dead] = webhooks.messages(core, state=WebhookState.DEAD)
    assert dead.last_status == 503 and dead.attempts == webhooks.MAX_ATTEMPTS

    receiver.status = 204
    webhooks.redeliver(core, dead.id, actor="admin")
    drain(dispatcher)
    assert receiver.received[-1].webhook_id == receiver.received[0].webhook_id
    assert [m.state for m in webhooks.messages(core)] == ["sent"]


def test_an_endpoint_gets_only_what_it_subscribed_to_and_what_came_after_it(
    core, receiver, dispatcher
):
    new_delivery(core, "REF-BEFORE")
    subscribe(core, receiver, ["delivery.cancelled"])
    withdrawn = new_delivery(core, "REF-AFTER")
    cancel(core, withdrawn, actor="office")
    drain(dispatcher)
    [only] = receiver.wait_for(1)
    assert only.payload["type"] == "delivery.cancelled"
    with reading(core.engine) as session:
        assert len(session.exec(select(WebhookMessage)).all()) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://fachverfahren.example/hooks", True),
        ("http://127.0.0.1:9/hooks", True),
        ("ftp://example.org/x", False),
        ("https://user:pw@example.org/x", False),
        ("https:///nohost", False),
        ("https://example.org/x#frag", False),
    ],
)
def test_endpoint_urls_are_checked(url, allowed):
    if allowed:
        assert webhooks.check_url(url, allow_http=True) == url
    else:
        with pytest.raises(webhooks.InvalidInput):
            webhooks.check_url(url, allow_http=True)
    with pytest.raises(webhooks.InvalidInput):
        webhooks.check_url("http://example.org/", allow_http=False)
