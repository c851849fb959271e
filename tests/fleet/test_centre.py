"""The centre against a real broker and a real PostgreSQL, with bare MQTT clients as boxes."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from fleet.centre.app import create_app
from fleet.contract import (
    Answer,
    Backlog,
    Boards,
    BoxEvent,
    BoxState,
    BoxStatus,
    SizeCounts,
    Topic,
    parse_command,
    topic,
)
from locker.vocabulary import Size

DEMO = {"Authorization": "Bearer demo-key"}


def event(box_id: str, seq: int, prev: int, now: Any, type: str = "delivery.stored") -> BoxEvent:
    return BoxEvent(
        message_id=f"evt_{box_id.replace('-', '')}{seq:04x}".replace("box", "b0"),
        box_id=box_id,
        sent_at=now,
        seq=seq,
        prev_seq=prev,
        type=type,
        occurred_at=now,
        delivery_id=f"d{seq}",
        data={"delivery_id": f"d{seq}", "reference": f"R-{seq}", "state": "stored"},
    )


def state(box_id: str, now: Any, *, occupied: int = 3) -> BoxState:
    return BoxState(
        box_id=box_id,
        sent_at=now,
        version="0.1.0",
        health="ok",
        compartments={
            Size.S: SizeCounts(free=10 - occupied, occupied=occupied),
            Size.M: SizeCounts(free=4),
        },
        boards=Boards(),
        open_alarms=1,
        dead_messages=0,
        backlog=Backlog(notifications=0, events=0),
    )


def test_events_are_stored_once_in_order_and_confirmed(centre, stored, box_client, clock):
    box = box_client("box-1")
    box.subscribe(topic("box-1", Topic.RECEIPTS))
    now = clock.now()
    first, second, third = (event("box-1", n, n - 1, now) for n in (1, 2, 3))
    for message in (first, second, first, second, third, third):
        assert box.publish(topic("box-1", Topic.EVENTS), message.wire()) == 0

    box.wait_for(lambda: any(p["stored_through"] == 3 for _, p in box.received))
    rows = stored.query("SELECT seq, message_id FROM box_event ORDER BY id")
    assert [r.seq for r in rows] == [1, 2, 3]
    assert stored.query("SELECT last_seq, events_stored FROM box")[0] == (3, 3)


def test_an_event_after_a_gap_waits_for_the_missing_one(centre, stored, box_client, clock):
    box = box_client("box-1")
    box.subscribe(topic("box-1", Topic.RECEIPTS))
    now = clock.now()
    box.publish(topic("box-1", Topic.EVENTS), event("box-1", 1, 0, now).wire())
    box.wait_for(lambda: len(box.received) == 1)
    box.publish(topic("box-1", Topic.EVENTS), event("box-1", 3, 2, now).wire())  # 2 was lost
    box.wait_for(lambda: len(box.received) == 2)
    assert [p["stored_through"] for _, p in box.received] == [1, 1]
    for seq in (2, 3):  # the box resends from its last receipt
        box.publish(topic("box-1", Topic.EVENTS), event("box-1", seq, seq - 1, now).wire())
    box.wait_for(lambda: box.received[-1][1]["stored_through"] == 3)
    assert [r.seq for r in stored.query("SELECT seq FROM box_event ORDER BY id")] == [1, 2, 3]


def test_a_box_may_publish_only_under_its_own_id(centre, stored, box_client, clock):
    intruder = box_client("box-1")
    now = clock.now()
    forged = event("box-2", 1, 0, now)
    assert intruder.publish(topic("box-2", Topic.EVENTS), forged.wire()) == 135  # not authorized
    status = BoxStatus(box_id="box-2", sent_at=now, online=False, reason="lost")
    assert intruder.publish(topic("box-2", Topic.STATUS), status.wire(), retain=True) == 135
    # The box's own topic still works; what the broker refused never arrived before it.
    assert intruder.publish(topic("box-1", Topic.EVENTS), event("box-1", 1, 0, now).wire()) == 0
    stored.wait(lambda: bool(stored.query("SELECT 1 FROM box_event")))
    assert [r.box_id for r in stored.query("SELECT box_id FROM box")] == ["box-1"]
    # Nor can it read another box's commands.
    intruder.subscribe(topic("box-2", Topic.COMMANDS))
    other = box_client("box-2")
    other.subscribe(topic("box-2", Topic.COMMANDS))
    assert centre.ingest is not None
    centre.ingest.client.publish(topic("box-2", Topic.COMMANDS), b"{}", qos=1)
    other.wait_for(lambda: len(other.received) == 1)
    intruder.client.publish(topic("box-1", Topic.HEARTBEAT), b"{}", qos=1)
    assert intruder.received == []


def test_state_status_and_the_api(centre, stored, box_client, clock):
    box = box_client("box-1")
    now = clock.now()
    box.publish(
        topic("box-1", Topic.STATUS),
        BoxStatus(box_id="box-1", sent_at=now, online=True, reason="connected").wire(),
        retain=True,
    )
    box.publish(topic("box-1", Topic.STATE), state("box-1", now).wire(), retain=True)
    stored.wait(lambda: bool(stored.query("SELECT 1 FROM box WHERE state IS NOT NULL")))
    with TestClient(create_app(centre)) as client:
        assert client.get("/api/v1/fleet/boxes").status_code == 401
        assert (
            client.get("/api/v1/fleet/boxes", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )
        boxes = client.get("/api/v1/fleet/boxes", headers=DEMO).json()
        assert boxes == [
            {
                "box_id": "box-1",
                "online": True,
                "status": "connected",
                "last_seen": boxes[0]["last_seen"],
                "offline_since": None,
                "version": "0.1.0",
                "health": "ok",
                "compartments": 14,
                "occupied": 3,
                "free": {"S": 7, "M": 4},
                "fault": 0,
                "open_alarms": 1,
                "dead_messages": 0,
                "backlog_events": 0,
                "events_stored": 0,
            }
        ]
        assert client.get("/api/v1/fleet/boxes/nobody", headers=DEMO).json()["error"] == "not_found"
        detail = client.get("/api/v1/fleet/boxes/box-1", headers=DEMO).json()
        assert detail["by_size"]["S"]["occupied"] == 3


def test_an_announcement_is_relayed_and_the_answer_comes_back(centre, stored, box_client, clock):
    box = box_client("box-1")
    box.publish(
        topic("box-1", Topic.STATUS),
        BoxStatus(box_id="box-1", sent_at=clock.now(), online=True, reason="connected").wire(),
        retain=True,
    )
    stored.wait(lambda: bool(stored.query("SELECT 1 FROM box WHERE online")))
    box.subscribe(topic("box-1", Topic.COMMANDS))

    def answer_commands() -> None:
        box.wait_for(lambda: len(box.received) == 1)
        command = parse_command(
            box.client and __import__("json").dumps(box.received[0][1]).encode()
        )
        answer = Answer(
            box_id="box-1",
            sent_at=clock.now(),
            transaction_id=command.transaction_id,
            ok=True,
            status=201,
            result={"delivery_id": "abc123", "state": "announced"},
        )
        box.publish(topic("box-1", Topic.ANSWERS), answer.wire())

    worker = threading.Thread(target=answer_commands)
    worker.start()
    body = {
        "reference": "R-1",
        "document_type": "passport",
        "recipient": {"name": "Erika Mustermann", "phone": "+4915123456789"},
    }
    with TestClient(create_app(centre)) as client:
        response = client.post("/api/v1/fleet/boxes/box-1/deliveries", json=body, headers=DEMO)
    worker.join()
    assert response.status_code == 201
    assert response.json()["delivery_id"] == "abc123"
    command = box.received[0][1]
    assert command["command"] == "announce" and command["actor"] == "centre:demo"
    (row,) = stored.query("SELECT state, status, subject FROM command")
    assert row == ("answered", 201, "R-1")
    # The centre keeps the reference, never the recipient.
    assert "Mustermann" not in str(stored.query("SELECT * FROM command"))


def test_a_silent_box_goes_offline_and_the_on_call_staff_hear_of_it(
    centre, stored, box_client, clock
):
    box = box_client("box-1")
    box.publish(
        topic("box-1", Topic.STATUS),
        BoxStatus(box_id="box-1", sent_at=clock.now(), online=True, reason="connected").wire(),
    )
    stored.wait(lambda: bool(stored.query("SELECT 1 FROM box WHERE online")))
    clock.advance(centre.settings.centre.offline_after_s + 1)
    centre.check()
    assert stored.query("SELECT online, status_reason FROM box") == [(False, "silent")]
    assert stored.query("SELECT count(*) FROM alert")[0][0] == 0
    clock.advance(centre.settings.alerts.offline_alert_after_s)
    centre.check()
    centre.check()  # one alert per outage
    assert stored.query("SELECT kind, state FROM alert") == [("offline", "skipped")]
