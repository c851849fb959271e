"""Hardware and gateway faults during real journeys, controller and world in their own processes."""

from __future__ import annotations

import pytest

from .conftest import PHONE, ControllerProcess, WorldProcess

pytestmark = pytest.mark.slow


def offline_seen(controller: ControllerProcess, label: str, offline: bool) -> bool:
    health = controller.get("/healthz")
    return (label in health["compartments_offline"]) == offline


def back_and_reconciled(controller: ControllerProcess) -> bool:
    kinds = [e["kind"] for e in controller.get("/api/v1/events?limit=1000")]
    online = [n for n, kind in enumerate(kinds) if kind == "board_online"]
    return bool(online) and "reconciled" in kinds[online[-1] :]


def test_board_offline_during_a_pickup(controller: ControllerProcess, world: WorldProcess):
    """The citizen is told, the code stays valid, the door opens once the board is back."""
    controller.start()
    delivery_id, label = controller.load("OFF-1")
    code = controller.wait_until(world.codes)[0]
    world.fault("board_offline", "0")
    controller.wait_until(
        lambda: offline_seen(controller, label, True), what="the board seen offline"
    )

    answer = controller.pickup(code)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "hardware_unavailable"
    assert "cannot be opened right now" in answer.json()["detail"]
    assert world.pulses(label) == 1, "nothing reached the lock"
    assert controller.delivery(delivery_id)["state"] == "stored"

    world.fault("board_offline", "0", on=False)
    controller.wait_until(
        lambda: offline_seen(controller, label, False), what="the board back online"
    )
    # The controller reconciles the board's compartments when it is back; a pickup begun while
    # that runs can be undone by it (reported), so the citizen comes back after it.
    controller.wait_until(
        lambda: back_and_reconciled(controller), what="the board's reconciliation"
    )
    assert controller.collect(code) == label
    controller.wait_until(lambda: controller.state_is(delivery_id, "collected"))
    assert world.pulses(label) == 2


def test_jammed_lock(controller: ControllerProcess, world: WorldProcess):
    """One more pulse at most, fault, clerks alerted, citizen told; collectable after repair."""
    controller.start()
    delivery_id, label = controller.load("JAM-1")
    code = controller.wait_until(world.codes)[0]
    world.fault("jam", label)

    answer = controller.pickup(code)
    assert answer.status_code == 503, answer.text
    detail = answer.json()["detail"]
    assert label in detail
    assert world.pulses(label) == 1 + 2, "the first pulse and at most one more"
    assert controller.compartment(label)["state"] == "fault"
    assert controller.delivery(delivery_id)["state"] == "stored"
    assert controller.alerts("unlock"), "the clerks get an alert"

    again = controller.pickup(code)  # the citizen tries again at once: told, nothing pulsed
    assert again.status_code == 503
    assert "code stays valid" in again.json()["detail"]
    assert world.pulses(label) == 3

    world.fault("jam", label, on=False)
    cleared = controller.post(
        f"/api/v1/compartments/{label}/clear-fault", {"document_inside": True}
    )
    assert cleared.status_code == 200, cleared.text
    assert controller.compartment(label)["state"] == "occupied"
    controller.collect(code)
    controller.wait_until(lambda: controller.state_is(delivery_id, "collected"))
    assert world.pulses(label) == 4


def test_door_left_open_raises_an_alarm(controller: ControllerProcess, world: WorldProcess):
    controller.start()
    delivery_id = controller.announce("OPEN-1")
    label = controller.post(f"/api/v1/deliveries/{delivery_id}/load").json()["compartment"]
    controller.wait_until(lambda: controller.sees_open(label))
    assert not controller.alerts("door_left_open")
    controller.post("/drill/clock/advance", {"seconds": 301})  # beyond the 300 s limit
    alarms = controller.wait_until(lambda: controller.alerts("door_left_open"), what="the alarm")
    assert [a["compartment"] for a in alarms] == [label]
    world.put_in(label)
    world.close_door(label)
    controller.wait_until(lambda: controller.state_is(delivery_id, "stored"))
    controller.post("/drill/clock/advance", {"seconds": 600})
    assert len(controller.alerts("door_left_open")) == 1, "one alarm per opening"


def test_forced_door_raises_an_alarm_and_is_audited(
    controller: ControllerProcess, world: WorldProcess
):
    controller.start()
    delivery_id, label = controller.load("FORCE-1")
    world.act(label, "force")
    alarms = controller.wait_until(lambda: controller.alerts("forced_open"), what="the alarm")
    assert alarms[0]["compartment"] == label
    assert alarms[0]["delivery_id"] == delivery_id
    controller.wait_until(lambda: controller.compartment(label)["state"] == "fault")
    code = controller.wait_until(world.codes)[0]
    refused = controller.pickup(code)
    assert refused.status_code == 503
    assert world.pulses(label) == 1


def test_sms_gateway_down_for_an_hour(controller: ControllerProcess, world: WorldProcess):
    """Every message goes out after recovery, none twice."""
    controller.start()
    world.fault("sms_down")
    phones = [f"+49151234500{n:02d}" for n in range(1, 4)]
    loaded = [controller.load(f"SMS-{n}", phone)[0] for n, phone in enumerate(phones)]
    for _ in range(6):  # an hour of outage, in ten-minute steps: retries fail
        controller.post("/drill/clock/advance", {"seconds": 600})
    assert not [m for phone in phones for m in world.messages(phone)]
    states = [n["state"] for d in loaded for n in controller.delivery(d)["notifications"]]
    assert len(states) == len(phones)
    assert not set(states) & {"sent", "delivered", "dead"}, states

    world.fault("sms_down", on=False)
    controller.post("/drill/clock/advance", {"seconds": 3600})
    controller.wait_until(
        lambda: controller.get("/healthz")["outbox_backlog"] == 0, what="the backlog"
    )
    controller.wait_until(lambda: all(world.codes(phone) for phone in phones), what="every SMS")
    controller.post("/drill/clock/advance", {"seconds": 3600})  # more passes: nothing resent
    controller.wait_until(lambda: controller.get("/healthz")["outbox_backlog"] == 0)
    for phone in phones:
        assert len(world.messages(phone)) == 1, world.messages(phone)
    assert not world.messages(PHONE)
    for delivery_id in loaded:
        notifications = controller.delivery(delivery_id)["notifications"]
        assert [n["state"] for n in notifications] in (["sent"], ["delivered"])
