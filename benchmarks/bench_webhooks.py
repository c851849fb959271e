"""Webhook and bulk-import benchmark: a real SQLite file, the system clock, a receiver on
127.0.0.1, the production dispatcher thread.

* lag: a delivery is announced (the state change commits its outbound event) → the receiver
  has the signed request, p50/p99. It covers the event outbox, the dispatcher's poll
  (``webhooks.poll_interval_s``), fan-out, claim, signing, the HTTP request and the record.
* sustained rate: a backlog of 10,000 ``delivery.announced`` events for one endpoint, from the
  first to the last request received, in events per minute.
* import: a 5,000-row CSV parsed, checked and written by the code behind
  ``POST /api/v1/deliveries/import`` (no HTTP), in seconds.

Targets (issue 13): lag p99 ≤ 1 s; ≥ 1,000 events/min; 5,000 rows ≤ 30 s.
Run ``python benchmarks/bench_webhooks.py [--json] [--samples N] [--events N] [--rows N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from kiosk.api.imports import announcement_of, csv_records
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


class _Receiver:
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


def _core(scratch: Path) -> Core:
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


def _announcement(n: int) -> deliveries.Announcement:
    return deliveries.Announcement(
        reference=f"BENCH-{n:06d}",
        document_type=DocumentType.OTHER,
        name="Bench",
        email=f"bench{n}@example.org",
    )


def bench_lag(scratch: Path, samples: int) -> dict[str, Any]:
    core = _core(scratch)
    receiver = _Receiver()
    webhooks.create_endpoint(core, receiver.url, ["delivery.announced"], actor="bench")
    dispatcher = WebhookDispatcher(core).start()
    lags = []
    apart = threading.Event()
    try:
        for n in range(samples):
            started = time.perf_counter()
            delivery = deliveries.announce(core, _announcement(n), actor="bench")
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
    lags.sort()
    return {
        "samples": samples,
        "p50_ms": round(statistics.median(lags) * 1000, 1),
        "p99_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000, 1),
        "poll_interval_s": core.settings.webhooks.poll_interval_s,
    }


def bench_rate(scratch: Path, events: int) -> dict[str, Any]:
    core = _core(scratch)
    receiver = _Receiver()
    webhooks.create_endpoint(core, receiver.url, ["delivery.announced"], actor="bench")
    rows = [_announcement(n) for n in range(events)]
    import_announcements(core, rows, dry_run=False, actor="bench")
    dispatcher = WebhookDispatcher(core).start()
    try:
        started = time.perf_counter()
        receiver.wait(events, timeout=3600)
        elapsed = max(receiver.arrived.values()) - started
    finally:
        dispatcher.close()
        receiver.close()
    return {
        "events": events,
        "seconds": round(elapsed, 2),
        "per_minute": round(events / elapsed * 60),
    }


def bench_import(scratch: Path, rows: int) -> dict[str, Any]:
    core = _core(scratch)
    lines = ["reference;document_type;size;name;phone;email;locale"]
    lines += [
        f"IMP-{n:06d};other;M;Erika Beispiel;+49151{n:08d};e{n}@example.org;de" for n in range(rows)
    ]
    text = "\ufeff" + "\n".join(lines) + "\n"
    started = time.perf_counter()
    parsed = [announcement_of(r) for r in csv_records(text.removeprefix("\ufeff"))]
    results = import_announcements(core, parsed, dry_run=False, actor="bench")
    elapsed = time.perf_counter() - started
    created = sum(r.result == "created" for r in results)
    return {"rows": rows, "created": created, "seconds": round(elapsed, 2)}


def run(samples: int = 200, events: int = 10_000, rows: int = 5_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        for name in ("lag", "rate", "import"):
            (base / name).mkdir()
        return {
            "lag": bench_lag(base / "lag", samples),
            "rate": bench_rate(base / "rate", events),
            "import": bench_import(base / "import", rows),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=5_000)
    args = parser.parse_args()
    figures = run(args.samples, args.events, args.rows)
    if args.json:
        print(json.dumps(figures))
        return
    lag, rate, imported = figures["lag"], figures["rate"], figures["import"]
    print(f"webhook lag   p50 {lag['p50_ms']} ms, p99 {lag['p99_ms']} ms", end=" ")
    print(f"({lag['samples']} samples; target p99 <= 1000 ms)")
    print(f"webhook rate  {rate['per_minute']} events/min", end=" ")
    print(f"({rate['events']} events in {rate['seconds']} s; target >= 1000/min)")
    print(f"CSV import    {imported['rows']} rows in {imported['seconds']} s", end=" ")
    print(f"({imported['created']} created; target <= 30 s)")
    print(f"loadavg       {' '.join(figures['loadavg'])}")


if __name__ == "__main__":
    main()
