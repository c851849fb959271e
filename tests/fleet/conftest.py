"""Real parts for the fleet tests: Debian's Mosquitto and PostgreSQL, started here.

* ``postgres`` — one cluster per test session (initdb takes seconds), run as the ``postgres``
  user when the tests run as root; each test gets its own database (``centre_db``).
* ``broker`` — Mosquitto per test from ``deploy/mosquitto/locker.conf`` on a free port, with a
  password file made for this run (``BOXES`` and the centre, random passwords) and the ACL
  file from ``deploy/mosquitto/acl``.
* ``centre`` — the real centre (:class:`fleet.centre.service.Centre`) on them, its watcher off:
  a test drives :meth:`~fleet.centre.service.Centre.check` on a manual clock.
* ``BoxClient`` — a bare MQTT client signed in as one box, for what a box would send.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import text

from fleet import mqtt as fleet_mqtt
from fleet.centre.config import CentreSettings, load_centre_settings
from fleet.centre.service import Centre
from fleet.contract import CENTRE_USER
from locker.clock import ManualClock
from simulator.broker import LocalBroker
from simulator.postgres import LocalPostgres

from ..waiting import Changes

BOXES = ("box-1", "box-2", "box-3", "rathaus-barmen", "rathaus-elberfeld", "buergerbuero-vohwinkel")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    with LocalPostgres(tmp_path_factory.mktemp("postgres")) as cluster:
        yield cluster


@pytest.fixture
def centre_db(postgres: LocalPostgres) -> str:
    return postgres.url("centre_" + secrets.token_hex(4))


@dataclass
class Credentials:
    passwords: dict[str, str]

    def of(self, user: str) -> str:
        return self.passwords[user]


@pytest.fixture
def credentials() -> Credentials:
    return Credentials({user: secrets.token_urlsafe(12) for user in (*BOXES, CENTRE_USER)})


@pytest.fixture
def broker(tmp_path: Path, credentials: Credentials) -> Iterator[LocalBroker]:
    with LocalBroker(tmp_path / "broker", credentials.passwords) as running:
        yield running


def centre_settings(
    local: LocalBroker, database_url: str, credentials: Credentials, **sections: dict[str, Any]
) -> CentreSettings:
    overrides: dict[str, dict[str, Any]] = {
        "centre": {"database_url": database_url, "demo": True, "command_timeout_s": 10.0},
        "broker": {"url": local.url, "password": credentials.of(CENTRE_USER)},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_centre_settings(None, overrides=overrides)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def centre(
    broker: LocalBroker, centre_db: str, credentials: Credentials, clock: ManualClock
) -> Iterator[Centre]:
    settings = centre_settings(broker, centre_db, credentials)
    with Centre(settings, clock=clock, watch=False) as running:
        assert running.ingest is not None and running.ingest.wait_connected(10)
        yield running


class Stored:
    """Waits on the centre's writer: every batch it stores wakes :meth:`wait`."""

    def __init__(self, centre: Centre) -> None:
        self.centre = centre
        self._changed = Changes()
        assert centre.ingest is not None
        centre.ingest.listen(self._notify)

    def _notify(self, _outcome: object) -> None:
        self._changed.notify()

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.centre.db.connect() as connection:
            return list(connection.execute(text(sql), params))

    def wait(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        self._changed.wait_for(condition, timeout, "the centre storing it")


@pytest.fixture
def stored(centre: Centre) -> Stored:
    return Stored(centre)


@dataclass
class BoxClient:
    """One box's MQTT connection, as a box would open it, recording what reaches it."""

    box_id: str
    broker: LocalBroker
    password: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    acks: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.arrived = Changes()
        self.client = fleet_mqtt.make_client(
            f"test-{self.box_id}",
            fleet_mqtt.parse_broker_url(self.broker.url),
            username=self.box_id,
            password=self.password,
        )
        self.client.on_message = self._message
        self.client.on_publish = self._published
        connected = threading.Event()
        self.client.on_connect = lambda *a: connected.set()
        fleet_mqtt.connect(
            self.client,
            fleet_mqtt.parse_broker_url(self.broker.url),
            keepalive_s=10,
            session_expiry_s=60,
        )
        assert connected.wait(10), "the box could not connect"

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.arrived:
            self.received.append((message.topic, json.loads(message.payload)))
            self.arrived.notify()

    def _published(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self.arrived:
            self.acks[mid] = int(reason.value)
            self.arrived.notify()

    def subscribe(self, name: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(name, qos=1)
        assert done.wait(10)

    def publish(self, name: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish QoS 1 and return the broker's reason code from its PUBACK."""
        info = self.client.publish(name, payload, qos=1, retain=retain)
        self.arrived.wait_for(lambda: info.mid in self.acks, what="the PUBACK")
        return self.acks[info.mid]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        self.arrived.wait_for(condition, timeout, f"{self.box_id} getting it")

    def close(self) -> None:
        fleet_mqtt.stop(self.client)


@pytest.fixture
def box_client(
    broker: LocalBroker, credentials: Credentials
) -> Iterator[Callable[[str], BoxClient]]:
    opened: list[BoxClient] = []

    def open_box(box_id: str) -> BoxClient:
        client = BoxClient(box_id, broker, credentials.of(box_id))
        opened.append(client)
        return client

    yield open_box
    for client in opened:
        client.close()
