"""The outbox worker against the stand-ins: journeys, retries, dead letters, crashes, races."""

from __future__ import annotations

import logging
import queue
import random
import threading
from datetime import timedelta

import pytest
from sqlmodel import col, select

from locker.clock import ManualClock
from locker.core import Core, DomainEvent
from locker.db import reading, transaction
from locker.models import AuditEvent, Notification
from locker.ports import EventKind, HardwareEvent
from locker.services import deliveries, doors, housekeeping
from locker.services.pickup import pickup
from locker.vocabulary import Channel, MessageKind, NotificationState
from notify import OutboxRunner, OutboxWorker, PassReport, build_senders, start_worker
from simulator.inbox import Inbox
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin

from .conftest import BIRTHDAY, MakeCore, qr_payload_of, store

N = NotificationState


def clock(core: Core) -> ManualClock:
    assert isinstance(core.clock, ManualClock)
    return core.clock


def worker(core: Core, seed: int = 7) -> OutboxWorker:
    return OutboxWorker(core, build_senders(core.settings), rng=random.Random(seed))


def rows(core: Core) -> list[Notification]:
    with reading(core.engine) as session:
        return list(session.exec(select(Notification).order_by(col(Notification.id))))


def audit_events(core: Core, kind: str) -> list[AuditEvent]:
    with reading(core.engine) as session:
        return list(session.exec(select(AuditEvent).where(col(AuditEvent.kind) == kind)))


def test_stored_document_is_announced_by_sms_and_email_and_the_qr_opens_it(
    core: Core, inbox: Inbox
) -> None:
    stored = store(core, email="erika@example.org", locale="en")
    assert [r.state for r in rows(core)] == [N.PENDING, N.PENDING]

    report = worker(core).run_once()

    assert len(report.sent) == 2
    sms, mail = inbox.messages("sms")[0], inbox.messages("email")[0]
    assert sms["code"] == mail["code"] is not None
    assert "Your document" in sms["body"]
    for row in rows(core):
        assert row.state == N.SENT
        assert row.sealed is None  # the code is not at rest any more
        assert row.provider_id
        assert row.sent_at == clock(core).now()
    payload = qr_payload_of(mail["raw"])
    granted = pickup(core, payload, date_of_birth=BIRTHDAY, kiosk="k1")
    assert granted.compartment == stored.compartment

    doors.handle_event(core, HardwareEvent(EventKind.DOOR_OPENED, label=stored.compartment))
    doors.handle_event(core, HardwareEvent(EventKind.DOOR_CLOSED, label=stored.compartment))
    worker(core).run_once()
    receipts = [m for m in inbox.messages() if "collected" in m["body"]]
    assert {m["channel"] for m in receipts} == {"sms", "email"}
    assert all(m["code"] is None for m in receipts)


def test_audit_events_of_notifications_hold_no_personal_data(
    core: Core, twilio: TwilioStandin, inbox: Inbox
) -> None:
    twilio.fail("invalid_number")
    phone = "+4915199887766"
    store(core, phone=phone, email="erika@example.org")
    worker(core).run_once()
    code = inbox.messages("email")[0]["code"]
    with reading(core.engine) as session:
        everything = repr([e.detail for e in session.exec(select(AuditEvent))])
    assert "notification_dead" in repr(audit_events(core, "notification_dead")[0].kind)
    for secret in (phone, "erika", code, code.replace("-", "")):
        assert secret not in everything


def test_retry_schedule_is_exponential_with_jitter_then_dead_letter(
    make_core: MakeCore, twilio: TwilioStandin, inbox: Inbox
) -> None:
    core = make_core(
        email={"enabled": False},
        notify={"max_attempts": 5, "backoff_base_s": 30, "backoff_max_s": 100},
    )
    alarms: list[DomainEvent] = []
    core.listen(lambda e: alarms.append(e) if e.kind == "alarm" else None)
    twilio.fail("server_error")
    store(core)
    outbox = worker(core)
    delays = []
    for attempt in range(1, 5):
        assert outbox.run_once().retrying
        [row] = rows(core)
        assert (row.state, row.attempts, row.last_error) == (N.FAILED, attempt, "twilio 500/20500")
        assert row.next_attempt_at is not None
        delay = (row.next_attempt_at - clock(core).now()).total_seconds()
        planned = min(100, 30 * 2 ** (attempt - 1))
        assert planned / 2 <= delay <= planned
        delays.append(delay)
        clock(core).advance(delay - 1)
        assert outbox.run_once().claimed == 0  # not before its time
        clock(core).advance(1)
    assert delays[0] < delays[1] < delays[2]

    assert outbox.run_once().dead
    [row] = rows(core)
    assert (row.state, row.attempts, row.sealed) == (N.DEAD, 5, None)
    assert row.last_error == "gave up: twilio 500/20500"
    [event] = audit_events(core, "notification_dead")
    assert event.alert is True
    assert event.detail["attempts"] == 5 and event.detail["channel"] == "sms"
    assert [a.data["why"] for a in alarms] == ["notification_dead"]
    clock(core).advance(days=1)
    assert outbox.run_once().claimed == 0
    assert len(inbox) == 0


def test_age_cap_dead_letters_a_message_that_kept_failing(
    make_core: MakeCore, twilio: TwilioStandin
) -> None:
    core = make_core(email={"enabled": False}, notify={"max_age_hours": 1})
    twilio.fail("rate_limit")
    store(core)
    outbox = worker(core)
    for _ in range(100):
        if outbox.run_once().dead:
            break
        clock(core).advance(60)
    [row] = rows(core)
    assert row.state == N.DEAD
    assert row.attempts < core.settings.notify.max_attempts
    assert row.created_at is not None
    assert clock(core).now() - row.created_at >= timedelta(hours=1)


def test_permanent_error_dead_letters_at_once_with_an_alert(
    make_core: MakeCore, twilio: TwilioStandin
) -> None:
    core = make_core(email={"enabled": False})
    twilio.fail("invalid_number")
    stored = store(core)
    assert worker(core).run_once().dead
    [row] = rows(core)
    assert (row.state, row.attempts, row.last_error) == (N.DEAD, 1, "twilio 400/21211")
    [event] = audit_events(core, "notification_dead")
    assert event.alert and event.delivery_id == stored.delivery_id
    assert event.detail["reason"] == "twilio 400/21211"


def test_gateways_down_for_an_hour_then_every_message_goes_out_once(
    core: Core, twilio: TwilioStandin, smtp: SmtpStandin, inbox: Inbox
) -> None:
    twilio.set_down(True)
    smtp.set_down(True)
    for n in range(8):
        store(core, email=f"citizen{n}@example.org")
    outbox = worker(core)
    for _ in range(60):
        outbox.run_once()
        clock(core).advance(60)
    assert len(inbox) == 0
    assert {r.state for r in rows(core)} == {N.FAILED}
    twilio.set_down(False)
    smtp.set_down(False)
    for _ in range(90):
        outbox.run_once()
        clock(core).advance(60)
    assert {r.state for r in rows(core)} == {N.SENT}
    received = inbox.messages()
    assert len(received) == 16
    assert len({(m["channel"], m["to"]) for m in received}) == 16  # none twice
    assert all(m["code"] for m in received)


def test_crash_between_claim_and_send_is_sent_after_restart(
    make_core: MakeCore, inbox: Inbox
) -> None:
    core = make_core(email={"enabled": False}, notify={"lease_s": 300})
    store(core)
    before_crash = worker(core)
    [claim] = before_crash.claim()
    assert rows(core)[0].state == N.SENDING
    # The process dies here. A new one starts; the row is not due until its lease ran out.
    after_restart = worker(core)
    assert after_restart.run_once().claimed == 0
    clock(core).advance(301)
    assert after_restart.run_once().sent == [claim.id]
    assert len(inbox) == 1
    [row] = rows(core)
    assert (row.state, row.attempts) == (N.SENT, 2)
    # Had the first process only hung, its late send is a duplicate (at-least-once) but its
    # outcome no longer touches the row.
    before_crash.deliver(claim)
    assert len(inbox) == 2
    assert rows(core)[0].state == N.SENT and rows(core)[0].attempts == 2


def test_two_workers_never_send_the_same_row(make_core: MakeCore, inbox: Inbox) -> None:
    core = make_core(email={"enabled": False}, notify={"batch_size": 2})
    for _ in range(16):
        store(core)
    start = threading.Barrier(3)

    def drain() -> None:
        outbox = worker(core)
        start.wait()
        while outbox.run_once().claimed:
            pass

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(inbox) == 16
    assert len({m["to"] for m in inbox.messages()}) == 16
    assert {(r.state, r.attempts) for r in rows(core)} == {(N.SENT, 1)}


def test_a_code_message_for_a_delivery_no_longer_waiting_is_dropped(
    core: Core, inbox: Inbox
) -> None:
    stored = store(core, email="erika@example.org")
    deliveries.cancel(core, stored.delivery_id, actor="clerk:test")
    report = worker(core).run_once()
    assert len(report.dropped) == 2
    assert len(inbox) == 0
    assert {(r.state, r.sealed) for r in rows(core)} == {(N.DEAD, None)}
    assert [e.alert for e in audit_events(core, "notification_dropped")] == [False, False]


def test_reminder_and_expiry_notice_go_out_on_time(core: Core, inbox: Inbox) -> None:
    store(core, locale="de")
    outbox = worker(core)
    outbox.run_once()
    for days in (3, 9, 2):  # day 3: first reminder; day 12: 2 days before expiry; day 14
        clock(core).advance(days=days, seconds=1)
        housekeeping.run_due(core)
        outbox.run_once()
    bodies = [m["body"] for m in inbox.messages("sms")]
    assert len(bodies) == 4  # stored, reminder after 3 days, reminder 2 days before, expiry
    assert bodies[1].startswith("Erinnerung") and bodies[2].startswith("Erinnerung")
    assert "Abholfrist ist abgelaufen" in bodies[3]
    kinds = [r.kind for r in rows(core)]
    assert kinds == [
        MessageKind.STORED,
        MessageKind.REMINDER,
        MessageKind.REMINDER,
        MessageKind.EXPIRY,
    ]


def test_rows_of_a_disabled_channel_wait(make_core: MakeCore, inbox: Inbox) -> None:
    core = make_core(email={"enabled": False})
    store(core, email="erika@example.org")
    worker(core).run_once()
    states = {r.channel: r.state for r in rows(core)}
    assert states == {Channel.SMS: N.SENT, Channel.EMAIL: N.PENDING}


def test_runner_sends_as_soon_as_the_door_closes_and_stops_cleanly(
    core: Core, inbox: Inbox
) -> None:
    runner = core.outbox = OutboxRunner(worker(core), threads=2).start()
    try:
        store(core, email="erika@example.org")
        received = inbox.wait_for_count(2, timeout=10)
        assert {m["channel"] for m in received} == {"sms", "email"}
    finally:
        runner.close()
    runner.close()  # idempotent


def test_start_worker_warns_about_a_location_too_long_for_the_code_sms(
    make_core: MakeCore, caplog: pytest.LogCaptureFixture
) -> None:
    core = make_core(locker={"location": "Bürgerbüro " * 14})
    with caplog.at_level(logging.WARNING, logger="notify"):
        start_worker(core).close()
    assert "segments" in caplog.text


@pytest.mark.parametrize("sealed", [None, "A" * 40], ids=["wiped", "forged"])
def test_a_code_message_without_a_genuine_code_is_never_sent(
    make_core: MakeCore, inbox: Inbox, sealed: str | None
) -> None:
    core = make_core(email={"enabled": False})
    store(core)
    with transaction(core.engine) as session:
        [row] = session.exec(select(Notification))
        row.sealed = sealed
        session.add(row)
    assert worker(core).run_once().dead
    assert len(inbox) == 0
    [row] = rows(core)
    assert row.last_error is not None and row.last_error.startswith("cannot compose")


class ObservedWorker(OutboxWorker):
    """The real worker, reporting each pass, so a test knows when the runner went idle."""

    def __init__(self, core: Core) -> None:
        super().__init__(core, build_senders(core.settings), rng=random.Random(3))
        self.passes: queue.Queue[PassReport] = queue.Queue()

    def run_once(self, limit: int | None = None) -> PassReport:
        report = super().run_once(limit)
        self.passes.put(report)
        return report

    def idle(self) -> PassReport:
        """Wait for the next pass that found nothing to do."""
        while (report := self.passes.get(timeout=10)).claimed:
            pass
        return report


def test_a_wake_sends_a_queued_message_at_once_with_no_poll_to_rely_on(
    make_core: MakeCore, inbox: Inbox
) -> None:
    core = make_core(notify={"poll_interval_s": 3600})
    observed = ObservedWorker(core)
    with OutboxRunner(observed) as runner:
        core.outbox = runner
        observed.idle()  # the first pass is over: the runner waits for an hour or a wake
        store(core, email="erika@example.org")  # commits, then wakes the runner
        received = inbox.wait_for_count(2, timeout=10)
    assert {m["channel"] for m in received} == {"sms", "email"}


def test_an_idle_runner_wakes_itself_when_a_retry_falls_due(
    make_core: MakeCore, twilio: TwilioStandin, inbox: Inbox
) -> None:
    core = make_core(
        email={"enabled": False}, notify={"poll_interval_s": 3600, "backoff_base_s": 0.2}
    )
    twilio.fail("server_error", times=1)
    observed = ObservedWorker(core)
    with OutboxRunner(observed) as runner:
        core.outbox = runner
        observed.idle()
        store(core)
        assert observed.passes.get(timeout=10).retrying
        observed.idle()  # and asleep until the retry is due
        clock(core).advance(1)  # the retry falls due; nobody wakes the runner
        [sms] = inbox.wait_for_count(1, timeout=10)
    assert sms["code"]
    [row] = rows(core)
    assert (row.state, row.attempts) == (N.SENT, 2)
