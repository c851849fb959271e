"""The controller learns that the door closed on a document → the Twilio stand-in has accepted
the SMS with the pickup code. It covers the storing transaction, the outbox runner woken by the
commit, claiming, unsealing, rendering, the real twilio client's HTTP request and recording the
outcome; a real SQLite file and the system clock, no HTTP in front.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import Benchmark, Figure, latency_figures
from locker import migrate
from locker.clock import SystemClock
from locker.config import load_settings
from locker.core import Core, NoBank
from locker.db import make_engine
from locker.ports import CompartmentSpec, EventKind, HardwareEvent, UnlockOutcome, UnlockResult
from locker.services import deliveries, doors, loading
from locker.services.compartments import sync_compartments
from locker.vocabulary import DocumentType, Size
from notify import OutboxRunner, OutboxWorker, build_senders
from simulator.inbox import Inbox
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin


class OpenBank(NoBank):
    """As many compartments as the benchmark needs; every unlock works."""

    def __init__(self, count: int) -> None:
        self._specs = [CompartmentSpec(f"B{n:04d}", Size.L, 1) for n in range(count)]

    def compartments(self) -> Sequence[CompartmentSpec]:
        return self._specs

    def unlock(self, label: str) -> UnlockResult:
        return UnlockResult(label, UnlockOutcome.UNLOCKED)


class StampedInbox:
    """The stand-ins' inbox and the moment (``perf_counter``) each message was accepted."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.stamps: list[float] = []
        self.changed = threading.Condition()
        self.inbox.watch(self._stamp)

    def _stamp(self) -> None:
        with self.changed:
            self.stamps.append(time.perf_counter())
            self.changed.notify_all()

    def wait_for_count(self, count: int, timeout: float) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.stamps) >= count, timeout):
                raise TimeoutError(f"only {len(self.stamps)} of {count} messages arrived")


def make_core(
    path: Path, twilio: TwilioStandin, smtp: SmtpStandin, count: int, *, email: bool
) -> Core:
    settings = load_settings(
        overrides={
            "locker": {"demo": True, "bank_id": "bench"},
            "sms": twilio.settings(),
            "email": {
                **smtp.settings(),
                "enabled": email,
                "sender": "Dokumentenausgabe <noreply@stadt.example>",
            },
            "notify": {"poll_interval_s": 5.0},
        },
        environ={},
    )
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    core = Core(engine, SystemClock(), settings, OpenBank(count))
    sync_compartments(core)
    return core


def announce_and_load(core: Core, n: int, *, email: bool) -> str:
    """A delivery announced and its compartment opened: the label whose door is to close."""
    delivery = deliveries.announce(
        core,
        deliveries.Announcement(
            reference=f"BENCH-{n}",
            document_type=DocumentType.OTHER,
            name="Erika Mustermann",
            phone=f"+49151{10_000_000 + n}",
            email=f"citizen{n}@example.org" if email else None,
        ),
        actor="bench",
    )
    label = loading.start_loading(core, delivery.id, actor="bench")
    doors.handle_event(core, HardwareEvent(EventKind.DOOR_OPENED, label=label))
    return label


def run(samples: int) -> list[Figure]:
    stamped = StampedInbox()
    timings = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-notify-") as scratch,
        TwilioStandin(stamped.inbox) as twilio,
        SmtpStandin(stamped.inbox) as smtp,
    ):
        core = make_core(Path(scratch) / "latency.db", twilio, smtp, samples, email=False)
        with OutboxRunner(OutboxWorker(core, build_senders(core.settings)), threads=1) as runner:
            core.outbox = runner
            for n in range(samples):
                label = announce_and_load(core, n, email=False)
                closed = time.perf_counter()
                doors.handle_event(core, HardwareEvent(EventKind.DOOR_CLOSED, label=label))
                stamped.wait_for_count(n + 1, timeout=30)
                timings.append(stamped.stamps[n] - closed)
        core.engine.dispose()
    return latency_figures("door_closed_to_sms", "door closed -> SMS accepted", timings)


BENCHMARK = Benchmark(
    title="door closed on a document -> SMS with the code accepted by the stand-in",
    run=run,
    full={"samples": 100},
    smoke={"samples": 1},
)
