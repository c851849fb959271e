"""Notification benchmark against the local stand-ins, on a real SQLite file and the system clock.

* latency: the controller learns that the door closed on a document (``handle_event``) → the
  Twilio stand-in has accepted the SMS with the pickup code, p50/p99. It covers the storing
  transaction, the outbox runner waking on the domain event, claiming, unsealing, rendering,
  the real twilio client's HTTP request, and recording the outcome.
* throughput: a backlog of stored messages drained by the worker, messages per second, for
  SMS alone, e-mail alone (QR PNG + SMTP to aiosmtpd) and both with several worker threads.

Run ``python benchmarks/bench_notify.py [--json] [--samples N] [--backlog N]``; ``run()``
returns the same figures as a dict for ``locker bench``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from locker import migrate
from locker.clock import SystemClock
from locker.config import load_settings
from locker.core import Core, NoBank
from locker.db import make_engine
from locker.ports import CompartmentSpec, EventKind, HardwareEvent, UnlockOutcome, UnlockResult
from locker.services import deliveries, doors, loading
from locker.services.compartments import sync_compartments
from locker.vocabulary import Channel, DocumentType, Size
from notify import OutboxRunner, OutboxWorker, build_senders
from simulator.inbox import Entry, Inbox
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin


class _OpenBank(NoBank):
    """As many compartments as the benchmark needs; every unlock works."""

    def __init__(self, count: int) -> None:
        self._specs = [CompartmentSpec(f"B{n:04d}", Size.L, 1) for n in range(count)]

    def compartments(self) -> Sequence[CompartmentSpec]:
        return self._specs

    def unlock(self, label: str) -> UnlockResult:
        return UnlockResult(label, UnlockOutcome.UNLOCKED)


class _StampedInbox(Inbox):
    """Notes the moment each message was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def _add(self, entry: Entry) -> Entry:
        self.stamps.append(time.perf_counter())
        return super()._add(entry)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000}


def _core(path: Path, twilio: TwilioStandin, smtp: SmtpStandin, count: int, *, email: bool) -> Core:
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
    core = Core(engine, SystemClock(), settings, _OpenBank(count))
    sync_compartments(core)
    return core


def _announce_and_load(core: Core, n: int, *, email: bool) -> str:
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


def bench_latency(tmp: Path, samples: int) -> dict[str, Any]:
    inbox = _StampedInbox()
    with TwilioStandin(inbox) as twilio, SmtpStandin(inbox) as smtp:
        core = _core(tmp / "latency.db", twilio, smtp, samples, email=False)
        timings = []
        with OutboxRunner(OutboxWorker(core, build_senders(core.settings)), threads=1) as runner:
            core.outbox = runner
            for n in range(samples):
                label = _announce_and_load(core, n, email=False)
                closed = time.perf_counter()
                doors.handle_event(core, HardwareEvent(EventKind.DOOR_CLOSED, label=label))
                inbox.wait_for_count(n + 1, timeout=30)
                timings.append(inbox.stamps[n] - closed)
        core.engine.dispose()
    return {"samples": samples, **_percentiles(timings)}


def bench_throughput(
    tmp: Path, backlog: int, *, sms: bool, email: bool, threads: int
) -> dict[str, Any]:
    inbox = _StampedInbox()
    with TwilioStandin(inbox) as twilio, SmtpStandin(inbox) as smtp:
        name = f"throughput-{int(sms)}{int(email)}{threads}.db"
        core = _core(tmp / name, twilio, smtp, backlog, email=email)
        for n in range(backlog):
            label = _announce_and_load(core, n, email=email)
            doors.handle_event(core, HardwareEvent(EventKind.DOOR_CLOSED, label=label))
        senders = build_senders(core.settings)
        if not sms:
            senders.pop(Channel.SMS)
        expected = backlog * (int(sms) + int(email))
        started = time.perf_counter()
        with OutboxRunner(OutboxWorker(core, senders), threads=threads):
            inbox.wait_for_count(expected, timeout=300)
        elapsed = inbox.stamps[-1] - started
        core.engine.dispose()
    return {
        "messages": expected,
        "threads": threads,
        "seconds": elapsed,
        "per_second": expected / elapsed,
    }


def run(samples: int = 200, backlog: int = 200) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        where = Path(tmp)
        return {
            "door_closed_to_sms_accepted": bench_latency(where, samples),
            "throughput_sms": bench_throughput(where, backlog, sms=True, email=False, threads=1),
            "throughput_email": bench_throughput(where, backlog, sms=False, email=True, threads=1),
            "throughput_both_4_threads": bench_throughput(
                where, backlog, sms=True, email=True, threads=4
            ),
        }


def _table(figures: dict[str, Any]) -> str:
    latency = figures["door_closed_to_sms_accepted"]
    lines = [
        f"door closed -> SMS accepted ({latency['samples']} samples):"
        f" p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms",
    ]
    for key in ("throughput_sms", "throughput_email", "throughput_both_4_threads"):
        row = figures[key]
        lines.append(
            f"{key}: {row['messages']} messages in {row['seconds']:.2f} s ="
            f" {row['per_second']:.0f} msg/s ({row['threads']} thread(s))"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=200)
    args = parser.parse_args(argv)
    figures = run(args.samples, args.backlog)
    print(json.dumps(figures, indent=2) if args.json else _table(figures))


if __name__ == "__main__":
    main()
