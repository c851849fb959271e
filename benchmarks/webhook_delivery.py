"""Webhooks: a real SQLite file, the system clock, a receiver on 127.0.0.1, the production
dispatcher thread.

* lag: a delivery is announced (the state change commits its outbound event) → the receiver
  has the signed request, p50/p99: the event outbox, the dispatcher's wake, fan-out, claim,
  signing, the HTTP request and the record.
* sustained rate: a backlog of ``events`` ``delivery.announced`` events for one endpoint, from
  the first to the last request received, in events per minute.

Targets (issue 13): lag p99 ≤ 1 s; ≥ 1,000 events/min.
"""

from __future__ import annotations

import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from benchmarks.harness import Benchmark, Figure, Target, latency_figures
from locker import migrate, webhooks
from locker.clock import SystemClock
from locker.config import load_settings
from locker.core import Core
from locker.db import make_engine, reading
from locker.models import OutboundEvent
from locker.services import deliveries
from locker.services.imports import import_announcements
from locker.vocabulary import DocumentType
from webhooks import WebhookDispatcher


class Receiver:
    """Notes when each webhook id arrived (``time.perf_counter``)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.changed:
                    receiver.arrived.setdefault(self.headers["webhook-id"], time.perf_counter())
                    receiver.changed.notify_all()
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.arrived) >= count, timeout):
                raise RuntimeError(f"only {len(self.arrived)} of {count} webhooks arrived")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_core(scratch: Path) -> Core:
    """A core on its own SQLite file in ``scratch`` (also what the bulk import uses)."""
    settings = load_settings(
        environ={},
        overrides={
            "locker": {"demo": True, "data_dir": str(scratch)},
            "webhooks": {"allow_http": True},
            "policy": {"second_factor_documents": []},
        },
    )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    return Core(engine, SystemClock(), settings)


def announcement(n: int) -> deliveries.Announcement:
    return deliveries.Announcement(
        reference=f"BENCH-{n:06d}",
        document_type=DocumentType.OTHER,
        name="Bench",
        email=f"bench{n}@example.org",
    )


def lag(scratch: Path, samples: int) -> list[float]:
    core = make_core(scratch)
    receiver = Receiver()
    webhooks.create_endpoint(core, receiver.url, ["delivery.announced"], actor="bench")
    dispatcher = WebhookDispatcher(core).start()
    lags = []
    apart = threading.Event()
    try:
        for n in range(samples):
            started = time.perf_counter()
            delivery = deliveries.announce(core, announcement(n), actor="bench")
            receiver.wait(n + 1, timeout=30)
            with reading(core.engine) as session:
                event_id = session.exec(
                    select(OutboundEvent.event_id).where(
                        col(OutboundEvent.delivery_id) == delivery.id,
                        col(OutboundEvent.type) == "delivery.announced",
                    )
                ).one()
            lags.append(receiver.arrived[event_id] - started)
            apart.wait(0.01)  # state changes apart, not a burst
    finally:
        dispatcher.close()
        receiver.close()
    return lags


def rate(scratch: Path, events: int) -> float:
    """Events per minute from a backlog of ``events`` to one endpoint."""
    core = make_core(scratch)
    receiver = Receiver()
    webhooks.create_endpoint(core, receiver.url, ["delivery.announced"], actor="bench")
    import_announcements(
        core, [announcement(n) for n in range(events)], dry_run=False, actor="bench"
    )
    dispatcher = WebhookDispatcher(core).start()
    try:
        started = time.perf_counter()
        receiver.wait(events, timeout=3600)
        elapsed = max(receiver.arrived.values()) - started
    finally:
        dispatcher.close()
        receiver.close()
    return events / elapsed * 60


def run(samples: int, events: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as scratch:
        base = Path(scratch)
        (base / "lag").mkdir()
        (base / "rate").mkdir()
        figures = latency_figures(
            "lag", "announced -> signed webhook received", lag(base / "lag", samples),
            target_p99_ms=1000,
        )  # fmt: skip
        per_minute = rate(base / "rate", events)
    label = f"sustained webhook rate, backlog of {events} events"
    return [*figures, Figure("per_minute", per_minute, "/min", label, Target(1000, at_least=True))]


BENCHMARK = Benchmark(
    title="webhook delivery: lag and sustained rate (Standard Webhooks, local receiver)",
    run=run,
    full={"samples": 200, "events": 10_000},
    smoke={"samples": 1, "events": 2},
)
