"""Whole boxes as separate processes (``locker fleet sim``) through a real Mosquitto into the
real centre on PostgreSQL: outages of the broker and of the centre, and a killed box."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from fleet.centre.service import Centre
from locker.clock import SystemClock

from ..processes import Child
from ..waiting import Changes
from .conftest import centre_settings

pytestmark = pytest.mark.slow


class Watched:
    """The running centre, and a :class:`Changes` woken by everything it changes (events
    stored, boxes on- or offline): waits on the centre re-check on those, never on a timer."""

    def __init__(self, settings: Any) -> None:
        self.changes = Changes()
        self.settings = settings
        self.centre = self._start()

    def _start(self) -> Centre:
        centre = Centre(self.settings, clock=SystemClock(), check_interval_s=1.0).start()
        centre.listen(self.changes.notify)
        self.changes.notify()
        return centre

    def restart(self) -> Centre:
        self.centre.close()
        self.centre = self._start()
        return self.centre

    def wait(self, condition: Callable[[], Any], timeout: float, what: str) -> None:
        self.changes.wait_for(condition, timeout, what)


class BoxProcess:
    """One box as its own process: ``locker fleet sim --boxes 1`` with its id and password."""

    def __init__(self, box_id: str, broker_url: str, passwords: Path, data_dir: Path) -> None:
        self.box_id = box_id
        self.args = [
            sys.executable,
            "-m",
            "kiosk.cli",
            "fleet",
            "sim",
            "--ids",
            box_id,
            "--broker-url",
            broker_url,
            "--passwords",
            str(passwords),
            "--data-dir",
            str(data_dir),
            "--fault-rate",
            "0",
            "--heartbeat",
            "2",
            "--keepalive",
            "5",
            "--report-events",
        ]
        self.database = data_dir / box_id / "locker.db"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / f"{box_id}.log"
        self.written = Changes()
        """Woken by each line the box prints: one after every commit that wrote events."""
        self.child = self._spawn(rate=5)

    def _spawn(self, *, rate: float) -> Child:
        seed = str(sum(map(ord, self.box_id)))
        return Child([*self.args, "--rate", str(rate), "--seed", seed], self.log, self.written)

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.child.process

    def restart_idle(self) -> None:
        """Start the box again on its database, with nobody in front of it."""
        self.child.close()
        self.child = self._spawn(rate=0)

    def events(self) -> list[tuple[str, str]]:
        """(event_id, type) from the box's own outbox, in order."""
        if not self.database.exists():
            return []
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10) as db:
            try:
                return db.execute(
                    "SELECT event_id, type FROM outbound_event ORDER BY id"
                ).fetchall()
            except sqlite3.OperationalError:  # not migrated yet
                return []

    def stop(self, sig: int = signal.SIGTERM) -> int:
        try:
            return self.child.stop(sig, 30)
        finally:
            self.child.close()


@pytest.fixture
def boxes(broker, credentials, tmp_path) -> Iterator[dict[str, BoxProcess]]:
    passwords = tmp_path / "passwords"
    passwords.write_text("".join(f"{u}:{p}\n" for u, p in credentials.passwords.items()))
    running = {
        box_id: BoxProcess(box_id, broker.url, passwords, tmp_path / "boxes")
        for box_id in ("box-1", "box-2")
    }
    yield running
    for box in running.values():
        box.stop(signal.SIGKILL)


def centre_events(centre: Centre, box_id: str) -> list[tuple[str, int]]:
    with centre.db.connect() as connection:
        return [
            (row.message_id, row.seq)
            for row in connection.execute(
                text("SELECT message_id, seq FROM box_event WHERE box_id = :b ORDER BY seq"),
                {"b": box_id},
            )
        ]


def test_boxes_keep_working_through_outages_and_the_centre_gets_every_event_once(
    broker, centre_db, credentials, boxes
):
    settings = centre_settings(broker, centre_db, credentials)
    watched = Watched(settings)
    try:
        for box_id in boxes:
            watched.wait(
                lambda b=box_id: len(centre_events(watched.centre, b)) >= 3, 60, f"{box_id} reports"
            )

        broker.stop()  # the network is gone: the boxes go on loading and handing out
        outage = centre_events(watched.centre, "box-1")
        for box in boxes.values():
            before = len(box.events())
            box.written.wait_for(
                lambda b=box, n=before: (
                    {"delivery.stored", "delivery.collected"} <= {t for _, t in b.events()[n:]}
                ),
                60,
                f"{box.box_id} stores and hands out without the broker",
            )

        watched.centre.close()  # and the centre restarts while the broker comes back
        broker.start()
        centre = watched.restart()
        seen = len(centre_events(centre, "box-2"))
        watched.wait(lambda: len(centre_events(centre, "box-2")) > seen, 60, "the backlog flows")
        # once more, while the boxes publish: their messages wait at the broker
        centre = watched.restart()

        # box-1 stops (what it had not sent yet stays in its outbox) and starts again idle:
        # then its whole outbox reaches the centre, each event once and in order.
        assert boxes["box-1"].stop(signal.SIGTERM) == 0
        boxes["box-1"].restart_idle()
        watched.wait(
            lambda: (
                [e for e, _ in boxes["box-1"].events()]
                == [m for m, _ in centre_events(centre, "box-1")]
            ),
            90,
            "box-1's whole outbox at the centre",
        )
        assert len(centre_events(centre, "box-1")) > len(outage)

        boxes["box-2"].stop(signal.SIGKILL)  # a box dies
        watched.wait(
            lambda: not next(b for b in _boxes(centre) if b["box_id"] == "box-2")["online"],
            60,
            "the killed box shown offline",
        )
        box2 = centre_events(centre, "box-2")
        own = [e for e, _ in boxes["box-2"].events()]
        assert [m for m, _ in box2] == own[: len(box2)]  # a prefix of its outbox, in order, once
    finally:
        watched.centre.close()


def _boxes(centre: Centre) -> list[dict[str, object]]:
    with centre.db.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(text("SELECT * FROM box"))]
