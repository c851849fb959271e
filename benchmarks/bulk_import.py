"""A CSV of ``rows`` announcements parsed, checked and written by the code behind
``POST /api/v1/deliveries/import`` (no HTTP), in seconds. Target (issue 13): 5,000 rows ≤ 30 s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.harness import Benchmark, Figure, Target
from benchmarks.webhook_delivery import make_core
from kiosk.api.imports import announcement_of, csv_records
from locker.services.imports import import_announcements


def run(rows: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        core = make_core(Path(scratch))
        lines = ["reference;document_type;size;name;phone;email;locale"]
        lines += [
            f"IMP-{n:06d};other;M;Erika Beispiel;+49151{n:08d};e{n}@example.org;de"
            for n in range(rows)
        ]
        text = "\n".join(lines) + "\n"
        started = time.perf_counter()
        parsed = [announcement_of(r) for r in csv_records(text)]
        results = import_announcements(core, parsed, dry_run=False, actor="bench")
        elapsed = time.perf_counter() - started
        core.engine.dispose()
    created = sum(r.result == "created" for r in results)
    if created != rows:
        raise RuntimeError(f"only {created} of {rows} rows were created")
    return [Figure("seconds", elapsed, "s", f"CSV import of {rows} rows", Target(30))]


BENCHMARK = Benchmark(
    title="bulk import of announcements (CSV)",
    run=run,
    full={"rows": 5000},
    smoke={"rows": 5},
)
