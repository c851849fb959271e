"""A backlog of stored messages drained by the outbox worker, in messages per second: SMS
alone, e-mail alone (QR PNG + SMTP to aiosmtpd), and both with four worker threads."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.harness import Benchmark, Figure
from benchmarks.notify_latency import StampedInbox, announce_and_load, make_core
from locker.ports import EventKind, HardwareEvent
from locker.services import doors
from locker.vocabulary import Channel
from notify import OutboxRunner, OutboxWorker, build_senders
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin

KINDS = (("sms", True, False, 1), ("email", False, True, 1), ("both_4_threads", True, True, 4))


def drain(scratch: Path, backlog: int, *, sms: bool, email: bool, threads: int) -> float:
    """Messages per second the worker sent from a backlog of ``backlog`` deliveries."""
    stamped = StampedInbox()
    with TwilioStandin(stamped.inbox) as twilio, SmtpStandin(stamped.inbox) as smtp:
        name = f"throughput-{int(sms)}{int(email)}{threads}.db"
        core = make_core(scratch / name, twilio, smtp, backlog, email=email)
        for n in range(backlog):
            label = announce_and_load(core, n, email=email)
            doors.handle_event(core, HardwareEvent(EventKind.DOOR_CLOSED, label=label))
        senders = build_senders(core.settings)
        if not sms:
            senders.pop(Channel.SMS)
        expected = backlog * (int(sms) + int(email))
        started = time.perf_counter()
        with OutboxRunner(OutboxWorker(core, senders), threads=threads):
            stamped.wait_for_count(expected, timeout=300)
        elapsed = stamped.stamps[expected - 1] - started
        core.engine.dispose()
    return expected / elapsed


def run(backlog: int) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as scratch:
        for key, sms, email, threads in KINDS:
            rate = drain(Path(scratch), backlog, sms=sms, email=email, threads=threads)
            what = key.replace("_", " ").replace("4 threads", "(4 threads)")
            figures.append(
                Figure(
                    f"{key}_per_s", rate, "msg/s", f"outbox drained, {what}, {backlog} deliveries"
                )
            )
    return figures


BENCHMARK = Benchmark(
    title="outbox throughput: a backlog drained to the SMS and SMTP stand-ins",
    run=run,
    full={"backlog": 200},
    smoke={"backlog": 2},
)
