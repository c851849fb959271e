"""Allocation races on a real SQLite file: threads and processes never share a compartment."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from sqlmodel import select

from locker import migrate
from locker.clock import ManualClock
from locker.core import Core
from locker.db import make_engine, reading
from locker.models import Compartment
from locker.services.compartments import sync_compartments
from locker.vocabulary import DocumentType

from ..conftest import make_settings
from .race_worker import COMPARTMENTS, CountingBank, load_all
from .support import new_delivery

PER_WORKER = 16  # two workers want 32 compartments of 24: some must be told "none free"


def prepare(tmp_path: Path) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    core = Core(engine, ManualClock(), make_settings(tmp_path), CountingBank())
    sync_compartments(core)
    ids = [
        new_delivery(core, f"R{i}", document_type=DocumentType.OTHER, dob=None)
        for i in range(2 * PER_WORKER)
    ]
    engine.dispose()
    return url, ids


def check(url: str, labels: list[str]) -> None:
    taken = [label for label in labels if label != "none"]
    assert len(taken) == COMPARTMENTS, "every compartment is used once the race is over"
    assert len(set(taken)) == len(taken), "two loads got the same compartment"
    engine = make_engine(url)
    with reading(engine) as session:
        rows = session.exec(select(Compartment)).all()
    assert sorted(c.delivery_id for c in rows if c.delivery_id) == sorted(
        {c.delivery_id for c in rows if c.delivery_id}
    )
    assert all(c.state == "reserved" for c in rows)
    engine.dispose()


def test_two_threads_race_for_compartments(tmp_path):
    url, ids = prepare(tmp_path)
    results: list[list[str]] = [[], []]
    halves = [ids[0::2], ids[1::2]]
    threads = [
        threading.Thread(
            target=lambda i=i: results[i].extend(load_all(url, str(tmp_path), halves[i]))
        )
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    check(url, results[0] + results[1])


def test_two_processes_race_for_compartments(tmp_path):
    url, ids = prepare(tmp_path)
    worker = Path(__file__).with_name("race_worker.py")
    racers = [
        subprocess.Popen(
            [sys.executable, str(worker), url, str(tmp_path), *half],
            stdout=subprocess.PIPE,
            text=True,
        )
        for half in (ids[0::2], ids[1::2])
    ]
    labels = []
    for racer in racers:
        out, _ = racer.communicate(timeout=90)
        assert racer.returncode == 0
        labels += json.loads(out)
    check(url, labels)
