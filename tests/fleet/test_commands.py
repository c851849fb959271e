"""A real box (simulated world, the runtime's Controller with its fleet link) and the real
centre: commands through the centre's API reach the box and its answers come back; every
message that crossed the broker meanwhile matches docs/fleet.asyncapi.yaml."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlmodel import select

from fleet import asyncapi
from fleet import mqtt as fleet_mqtt
from fleet.centre.app import create_app
from fleet.contract import CENTRE_USER, Topic, parse_topic, topic
from locker.clock import SystemClock
from locker.db import reading
from locker.models import AuditEvent, Delivery
from simulator.fleet_sim import SimulatedBox, open_box

from ..waiting import Changes

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "fleet.asyncapi.yaml"
ASYNCAPI_SCHEMA = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
DEMO = {"Authorization": "Bearer demo-key"}
ANNOUNCEMENT = {
    "reference": "BUERGERAMT-2026-0001",
    "document_type": "passport",
    "size": "S",
    "recipient": {
        "name": "Erika Mustermann",
        "phone": "+4915123456789",
        "date_of_birth": "1990-05-17",
    },
}


class Recorder:
    """Everything the box and the centre exchange, as a second centre user and as the box see it."""

    def __init__(self, broker: Any, credentials: Any, box_id: str) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = Changes()
        address = fleet_mqtt.parse_broker_url(broker.url)
        self.clients = []
        for user, client_id, topics in (
            (
                CENTRE_USER,
                "recorder-centre",
                [Topic.STATUS, Topic.STATE, Topic.HEARTBEAT, Topic.EVENTS, Topic.ANSWERS],
            ),
            (box_id, "recorder-box", [Topic.COMMANDS, Topic.RECEIPTS]),
        ):
            client = fleet_mqtt.make_client(
                client_id, address, username=user, password=credentials.of(user)
            )
            subscribed = threading.Event()
            client.on_connect = lambda c, *_, t=topics: c.subscribe(
                [(topic(box_id, k), 1) for k in t]
            )
            client.on_subscribe = lambda *_, e=subscribed: e.set()
            client.on_message = self._message
            fleet_mqtt.connect(client, address, keepalive_s=10, session_expiry_s=0)
            assert subscribed.wait(10)
            self.clients.append(client)

    def _message(self, _c: Any, _u: Any, message: Any) -> None:
        with self._lock:
            self.messages.append((message.topic, json.loads(message.payload)))
            self._lock.notify()

    def kinds(self) -> set[Topic]:
        found = {parse_topic(name) for name, _ in self.messages}
        return {kind for _, kind in filter(None, found)}

    def wait_for(self, kinds: set[Topic], timeout: float = 20.0) -> None:
        self._lock.wait_for(lambda: kinds <= self.kinds(), timeout, f"{kinds} of {self.kinds()}")

    def close(self) -> None:
        for client in self.clients:
            fleet_mqtt.stop(client)


@pytest.fixture
def clock() -> SystemClock:
    """The box runs on the system's clock; so does the centre here (commands expire)."""
    return SystemClock()


@pytest.fixture
def box(broker, credentials, tmp_path, centre) -> Iterator[SimulatedBox]:
    running = open_box(
        "box-1",
        tmp_path / "boxes",
        broker.url,
        credentials.of("box-1"),
        seed=1,
        heartbeat_s=1.0,
        keepalive_s=5,
    )
    yield running
    running.close()


@pytest.fixture
def recorder(broker, credentials) -> Iterator[Recorder]:
    found = Recorder(broker, credentials, "box-1")
    yield found
    found.close()


def online(centre: Any) -> bool:
    from fleet.centre import views

    return any(b.online and b.compartments for b in views.boxes(centre.db))


def test_commands_through_the_centre_reach_the_box_and_come_back(centre, stored, box, recorder):
    stored.wait(lambda: online(centre))
    with TestClient(create_app(centre)) as client:
        announced = client.post(
            "/api/v1/fleet/boxes/box-1/deliveries", json=ANNOUNCEMENT, headers=DEMO
        )
        assert announced.status_code == 201, announced.text
        delivery_id = announced.json()["delivery_id"]
        with reading(box.core.engine) as session:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None and delivery.reference == ANNOUNCEMENT["reference"]
            assert delivery.recipient_phone == "+4915123456789"

        again = client.post("/api/v1/fleet/boxes/box-1/deliveries", json=ANNOUNCEMENT, headers=DEMO)
        assert again.status_code == 409 and again.json()["error"] == "conflict"
        invalid = client.post(
            "/api/v1/fleet/boxes/box-1/deliveries",
            json={**ANNOUNCEMENT, "reference": "R-2", "recipient": {"name": "X", "phone": "123"}},
            headers=DEMO,
        )
        assert invalid.status_code == 422 and invalid.json()["field"] == "recipient.phone"

        opened = client.post(
            "/api/v1/fleet/boxes/box-1/compartments/A05/open",
            json={"reason": "Tür klemmt, Prüfung vor Ort"},
            headers=DEMO,
        )
        assert opened.status_code == 202, opened.text
        assert (
            client.post(
                "/api/v1/fleet/boxes/box-1/compartments/A05/open", json={"reason": ""}, headers=DEMO
            ).status_code
            == 422
        )

        cancelled = client.post(
            f"/api/v1/fleet/boxes/box-1/deliveries/{delivery_id}/cancel", headers=DEMO
        )
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert (
            client.post(
                "/api/v1/fleet/boxes/box-9/deliveries", json=ANNOUNCEMENT, headers=DEMO
            ).status_code
            == 404
        )

    # Audited on both sides: the box's log names the centre's caller and the reason ...
    with reading(box.core.engine) as session:
        opens = session.exec(select(AuditEvent).where(AuditEvent.kind == "service_open")).all()
        commands = session.exec(select(AuditEvent).where(AuditEvent.kind == "fleet_command")).all()
    assert [(e.actor, e.detail["why"]) for e in opens] == [
        ("fleet:centre:demo", "Tür klemmt, Prüfung vor Ort")
    ]
    assert sorted(e.detail["status"] for e in commands) == [200, 201, 202, 409, 422]
    # ... and the centre's keeps every command with who sent it and how the box answered.
    rows = stored.query(
        "SELECT command, subject, reason, actor, status FROM command ORDER BY issued_at"
    )
    assert [(r.command, r.status) for r in rows] == [
        ("announce", 201),
        ("announce", 409),
        ("announce", 422),
        ("open", 202),
        ("cancel", 200),
    ]
    assert rows[3].reason == "Tür klemmt, Prüfung vor Ort" and rows[3].actor == "centre:demo"

    # The announcement's events reach the centre without the recipient's data.
    stored.wait(
        lambda: bool(stored.query("SELECT 1 FROM box_event WHERE type = 'delivery.cancelled'"))
    )
    everything = json.dumps([list(r) for r in stored.query("SELECT data FROM box_event")])
    assert ANNOUNCEMENT["reference"] in everything
    assert "Mustermann" not in everything and "+4915123456789" not in everything

    recorder.wait_for(set(Topic))
    check_against_contract(recorder.messages)


def check_against_contract(messages: list[tuple[str, dict[str, Any]]]) -> None:
    document = yaml.safe_load(CONTRACT.read_text())
    jsonschema.validate(document, json.loads(ASYNCAPI_SCHEMA.read_text()))
    registry: Registry = Registry().with_resource("contract", DRAFT202012.create_resource(document))
    for name, payload in messages:
        found = parse_topic(name)
        assert found is not None, name
        channel = document["channels"][found[1].value]
        schemas = [
            {
                "$ref": "contract"
                + document["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]["payload"][
                    "$ref"
                ]
            }
            for ref in channel["messages"].values()
        ]
        validator = jsonschema.Draft202012Validator({"anyOf": schemas}, registry=registry)
        errors = list(validator.iter_errors(payload))
        assert not errors, f"{name}: {errors[0].message}"


def test_the_contract_file_is_generated_from_the_models():
    assert CONTRACT.read_text() == asyncapi.to_yaml(), (
        "run: python -m fleet.asyncapi > docs/fleet.asyncapi.yaml"
    )
