"""The fleet: ``locker fleet sim --boxes 50`` into ``locker fleet serve`` through Mosquitto.

Everything real and each in its own process: Debian's Mosquitto (the production config) and
PostgreSQL, the centre (``locker fleet serve``), the boxes (``locker fleet sim``, spread over
two processes; each box a whole controller with its own SQLite file and fleet link). Figures:

=====================  ======================================================================
event_to_stored_ms     an event committed at a box → stored at the centre (``stored_at -
                       occurred_at`` of every event of the measuring window), p50/p99
offered / ingest rate  events per second the boxes made / the centre stored in that window
catch_up_s             broker back after an outage of ``--outage-s`` (600: ten minutes) →
                       every event the boxes made before it came back is stored
lost, duplicated       after the traffic ends and the links drained: events in a box's outbox
                       missing at the centre; events stored twice (and resends the centre
                       dropped by their id, which is how it should be)
centre_rss_mb / cpu    the centre process at the end; its CPU share over the run
=====================  ======================================================================

Targets (issue 14): 50 boxes at one event a second each, p99 ≤ 1 s, catch-up ≤ 60 s, nothing
lost or duplicated. The machine's load average is printed with the figures: on a shared
machine with two cores they mean little without it.

Run: ``locker bench --only fleet_ingest [--set boxes=50] [--set outage_s=600] [--json]`` (long:
plain ``locker bench`` leaves it out).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import create_engine, text

from benchmarks.harness import (
    Benchmark,
    Figure,
    Target,
    children,
    cpu_seconds,
    load_average,
    percentiles,
    rss_mb,
)
from simulator.broker import LocalBroker, free_port
from simulator.postgres import LocalPostgres

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"p99_ms": 1000.0, "catch_up_s": 60.0, "lost": 0, "duplicated": 0}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.25)
    return time.monotonic() - started


class Fleet:
    """Broker, database, centre and sim, each a process of its own, in one scratch directory."""

    def __init__(self, boxes: int, workdir: Path) -> None:
        self.workdir = workdir
        self.box_ids = [f"box-{n}" for n in range(1, boxes + 1)]
        users = {box_id: f"pw-{box_id}" for box_id in self.box_ids} | {"fleet-centre": "centre"}
        (workdir / "passwords").write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
        self.postgres = LocalPostgres(workdir / "postgres").start()
        self.broker = LocalBroker(workdir / "broker", users).start()
        self.database_url = self.postgres.url("centre")
        self.engine = create_engine(self.database_url)
        self.port = free_port()
        config = workdir / "centre.toml"
        config.write_text('[broker]\npassword = "centre"\n')
        self.centre = self._spawn(
            "centre",
            "fleet", "serve", "--broker-url", self.broker.url, "--database-url",
            self.database_url, "--port", str(self.port), "--config", str(config),
        )  # fmt: skip
        wait_until(self._centre_ready, 60, "the centre answers")
        self.sim = self._spawn(
            "sim",
            "fleet", "sim", "--boxes", str(boxes), "--broker-url", self.broker.url,
            "--passwords", str(workdir / "passwords"), "--data-dir", str(workdir / "boxes"),
            "--processes", "2", "--rate", "1",
        )  # fmt: skip

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "kiosk.cli", *args], cwd=ROOT, stdout=log, stderr=log
            )

    def _centre_ready(self) -> bool:
        try:
            return bool(
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).json()["broker"]
            )
        except httpx.HTTPError:
            return False

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def box_outbox(self, box_id: str) -> list[str]:
        database = self.workdir / "boxes" / box_id / "locker.db"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
            return [row[0] for row in db.execute("SELECT event_id FROM outbound_event ORDER BY id")]

    def newest_seq(self, box_id: str) -> int:
        database = self.workdir / "boxes" / box_id / "locker.db"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
            return int(db.execute("SELECT coalesce(max(id), 0) FROM outbound_event").fetchone()[0])

    def stored_through(self) -> dict[str, int]:
        return {
            r.box_id: int(r.last_seq or 0) for r in self.query("SELECT box_id, last_seq FROM box")
        }

    def close(self) -> None:
        for process in (self.sim, self.centre):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.engine.dispose()
        self.broker.remove()
        self.postgres.stop()


def measure(boxes: int, warmup_s: float, window_s: float, outage_s: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="locker-bench-fleet-"))
    fleet = Fleet(boxes, workdir)
    figures: dict[str, Any] = {"boxes": boxes, "outage_s": outage_s}
    try:
        wait_until(lambda: len(fleet.stored_through()) == boxes, 180, "every box reports")
        time.sleep(warmup_s)  # the benchmark's own pacing: a window of steady traffic
        start = fleet.query("SELECT now()")[0][0]
        centre_cpu_start = cpu_seconds(fleet.centre.pid)
        time.sleep(window_s)
        end = fleet.query("SELECT now()")[0][0]
        rows = fleet.query(
            "SELECT extract(epoch FROM stored_at - occurred_at) AS lag FROM box_event"
            " WHERE occurred_at >= :a AND occurred_at < :b",
            a=start,
            b=end,
        )
        seconds = (end - start).total_seconds()
        figures["event_to_stored"] = percentiles([float(r.lag) for r in rows])
        figures["offered_per_s"] = round(len(rows) / seconds, 1)
        stored = fleet.query(
            "SELECT count(*) FROM box_event WHERE stored_at >= :a AND stored_at < :b",
            a=start,
            b=end,
        )[0][0]
        figures["ingest_per_s"] = round(stored / seconds, 1)
        centre_cpu = cpu_seconds(fleet.centre.pid) - centre_cpu_start
        figures["centre_cpu_share"] = round(centre_cpu / seconds, 3)
        sim_cpu = sum(cpu_seconds(pid) for pid in children(fleet.sim.pid))
        figures["load_after_window"] = load_average()

        fleet.broker.stop()
        time.sleep(outage_s)  # the outage itself: the boxes go on without the broker
        backlog = {box_id: fleet.newest_seq(box_id) for box_id in fleet.box_ids}
        before = fleet.stored_through()
        figures["backlog_events"] = sum(backlog[b] - before.get(b, 0) for b in backlog)
        fleet.broker.start()
        figures["catch_up_s"] = round(
            wait_until(
                lambda: all(fleet.stored_through().get(b, 0) >= s for b, s in backlog.items()),
                900,
                "the centre catches up",
            ),
            1,
        )
        figures["load_after_catch_up"] = load_average()

        os.kill(fleet.sim.pid, signal.SIGUSR1)  # the traffic ends; the boxes stay connected
        time.sleep(2)  # steps under way finish (a door the pump has yet to see close)
        wait_until(
            lambda: all(
                fleet.stored_through().get(b, 0) >= fleet.newest_seq(b) for b in fleet.box_ids
            ),
            300,
            "the links drain",
        )
        outboxes = {box_id: fleet.box_outbox(box_id) for box_id in fleet.box_ids}
        at_centre = {
            box_id: [r.message_id for r in fleet.query(
                "SELECT message_id FROM box_event WHERE box_id = :b ORDER BY seq", b=box_id
            )]
            for box_id in fleet.box_ids
        }  # fmt: skip
        figures["events_total"] = sum(len(v) for v in outboxes.values())
        figures["lost"] = sum(len(set(outboxes[b]) - set(at_centre[b])) for b in fleet.box_ids)
        figures["duplicated"] = sum(len(v) - len(set(v)) for v in at_centre.values())
        figures["centre_rss_mb"] = round(rss_mb(fleet.centre.pid), 1)
        figures["centre_cpu_s"] = round(cpu_seconds(fleet.centre.pid), 1)
        figures["sim_cpu_per_box_and_s"] = round(sim_cpu / boxes / (seconds + warmup_s), 4)
        figures["sim_rss_mb"] = round(sum(rss_mb(p) for p in children(fleet.sim.pid)), 1)
    finally:
        fleet.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def run(boxes: int, warmup_s: float, window_s: float, outage_s: float) -> list[Figure]:
    found = measure(boxes, warmup_s, window_s, outage_s)
    lag = found["event_to_stored"]
    total = found["events_total"]
    return [
        Figure("event_to_stored_p50_ms", lag.p50_ms, "ms", "event at a box -> stored, p50"),
        Figure(
            "event_to_stored_p99_ms",
            lag.p99_ms,
            "ms",
            f"event at a box -> stored, p99 of {lag.samples}",
            Target(TARGETS["p99_ms"]),
        ),
        Figure("offered_per_s", found["offered_per_s"], "/s", f"events offered by {boxes} boxes"),
        Figure("ingest_per_s", found["ingest_per_s"], "/s", "events stored by the centre"),
        Figure(
            "catch_up_s",
            found["catch_up_s"],
            "s",
            f"catch-up of {found['backlog_events']} events after a {outage_s:g} s outage",
            Target(TARGETS["catch_up_s"]),
        ),
        Figure("lost", found["lost"], "", f"events lost of {total}", Target(0)),
        Figure("duplicated", found["duplicated"], "", f"events stored twice of {total}", Target(0)),
        Figure("centre_rss_mb", found["centre_rss_mb"], "MB", "centre RSS at the end"),
        Figure(
            "centre_cpu_percent",
            found["centre_cpu_share"] * 100,
            "%",
            "centre CPU while ingesting (of one core)",
        ),
        Figure(
            "sim_cpu_per_box_ms",
            found["sim_cpu_per_box_and_s"] * 1000,
            "ms",
            "sim CPU per box and second",
        ),
        Figure("sim_rss_mb", found["sim_rss_mb"], "MB", "sim RSS (all its processes)"),
    ]


BENCHMARK = Benchmark(
    title="the fleet: simulated boxes into the centre through Mosquitto (long)",
    run=run,
    full={"boxes": 50, "warmup_s": 30.0, "window_s": 120.0, "outage_s": 600.0},
    smoke={"boxes": 2, "warmup_s": 0.0, "window_s": 2.0, "outage_s": 0.5},
    long=True,
)
