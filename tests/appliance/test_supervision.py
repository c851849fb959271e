"""sd_notify against a real AF_UNIX datagram socket: heartbeats only while the program works."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.serial_bank import SerialBoardBank
from kiosk.demo import world_controller
from runtime.controller import Controller
from runtime.supervision import (
    Heartbeat,
    Notifier,
    bank_check,
    database_check,
    watchdog_interval,
)
from simulator.world import build_world

from ..conftest import make_settings


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    world = build_world(sms=False, email=False)
    try:
        settings = make_settings(tmp_path, hardware={"backend": "simulator"})
        with world_controller(world, settings, migrate_on_start=True) as controller:
            yield controller
    finally:
        world.close()


def heartbeat_of(controller: Controller, notifier: Notifier, **options) -> Heartbeat:
    assert controller.engine is not None
    checks = [bank_check(controller.running.bank), database_check(controller.engine)]
    return Heartbeat(notifier, 1.5, checks, timeout=0.5, **options)


def test_watchdog_interval_is_half_of_watchdog_usec():
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None


def test_abstract_socket_name(notify_socket):
    name = f"locker-test-{threading.get_ident()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert "READY=1" in listener.recv(4096).decode().splitlines()
    finally:
        listener.close()


def test_without_notify_socket_nothing_is_sent():
    assert not Notifier({}).ready()


def test_heartbeats_at_half_the_watchdog_time(controller, notify_socket):
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path)})
    pauses: list[float] = []

    def pause(seconds: float) -> bool:  # instead of waiting: record, stop after three beats
        pauses.append(seconds)
        return len(pauses) == 3

    interval = watchdog_interval({"WATCHDOG_USEC": "3000000"})
    assert interval is not None
    heartbeat = heartbeat_of(controller, notifier, pause=pause)
    heartbeat.interval = interval
    heartbeat.start()
    beats = [notify_socket.next() for _ in range(3)]
    heartbeat.close()
    assert beats == ["WATCHDOG=1"] * 3
    assert pauses == [1.5, 1.5, 1.5]


def test_heartbeat_stops_while_the_bus_owner_hangs(controller, notify_socket):
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path)})
    heartbeat = heartbeat_of(controller, notifier)
    assert heartbeat.beat() and notify_socket.next() == "WATCHDOG=1"
    bank = controller.running.bank
    serial = next(part for part in bank.banks if isinstance(part, SerialBoardBank))  # type: ignore[attr-defined]
    bus = next(iter(serial.buses.values()))
    release = threading.Event()
    hung = threading.Thread(target=bus._call, args=(0, release.wait))  # a job that never ends
    hung.start()
    try:
        assert not heartbeat.beat()
        assert heartbeat.failing() == "bus owner: no answer"
        assert notify_socket.messages() == []
    finally:
        release.set()
        hung.join()
    assert heartbeat.beat() and notify_socket.next() == "WATCHDOG=1"


def test_heartbeat_stops_while_the_database_is_locked(controller, notify_socket, tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path)})
    heartbeat = heartbeat_of(controller, notifier)
    other = sqlite3.connect(tmp_path / "locker.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer that never finishes
    try:
        assert not heartbeat.beat()
        assert heartbeat.failing() == "database: OperationalError"
        assert notify_socket.messages() == []
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert heartbeat.beat() and notify_socket.next() == "WATCHDOG=1"
