"""Power cut (SIGKILL) at every step of loading and of pickup, then restart and reconcile.

After each cut the controller starts again on the same SQLite file while the simulated world
(another process) keeps the doors, locks and documents as they were; the people then finish
what they were doing. Every drill ends with the same checks: no document unaccounted for, no
door opened twice, no code usable twice, every delivery in a definite state or its
compartment flagged (``fault`` with an alert).
"""

from __future__ import annotations

import pytest
import requests

from .conftest import ControllerProcess, WorldProcess

pytestmark = pytest.mark.slow

TRANSITIONAL = {"loading", "collecting", "retrieving"}


def accounted_for(controller: ControllerProcess, world: WorldProcess) -> None:
    """Every document the world holds is one the controller knows, and the other way round;
    every delivery is in a definite state, or mid-way with its door open, or flagged."""
    rows = {c["label"]: c for c in controller.get("/api/v1/compartments")}
    for entry in world.http.get("/sim/state").json()["compartments"]:
        row = rows[entry["label"]]
        if entry["item"]:
            assert row["delivery_id"] or row["state"] == "fault", (entry, row)
    for delivery in controller.get("/api/v1/deliveries"):
        if delivery["state"] in TRANSITIONAL:
            # only while its door stands open (the closing completes it), else flagged
            door_open = world.state(delivery["compartment"])["door"] == "open"
            assert door_open or rows[delivery["compartment"]]["state"] == "fault", delivery
        if delivery["state"] in ("stored", "expired"):
            assert world.state(delivery["compartment"])["item"], delivery


def code_spent(controller: ControllerProcess, code: str) -> None:
    again = controller.pickup(code)
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "code_used"


def restart(controller: ControllerProcess) -> None:
    controller.kill()
    controller.start()


# --------------------------------------------------------------------------- loading


def test_cut_after_the_intent_before_the_pulse(controller: ControllerProcess, world: WorldProcess):
    """The load was recorded but the lock never got its pulse: undone, the clerk loads again."""
    controller.start(die_at="unlock:before")
    delivery_id = controller.announce("CUT-L1")
    with pytest.raises(requests.ConnectionError):
        controller.post(f"/api/v1/deliveries/{delivery_id}/load")
    controller.wait_until(controller.died, what="the power cut")
    controller.start()
    assert controller.delivery(delivery_id)["state"] == "announced"
    assert all(world.pulses(label) == 0 for label in ("A01", "A02", "A03"))
    accounted_for(controller, world)
    answer = controller.post(f"/api/v1/deliveries/{delivery_id}/load")
    assert answer.status_code == 202, answer.text
    label = answer.json()["compartment"]
    controller.wait_until(lambda: controller.sees_open(label))
    world.put_in(label)
    world.close_door(label)
    controller.wait_until(lambda: controller.state_is(delivery_id, "stored"))
    assert world.pulses(label) == 1
    controller.wait_until(world.codes)
    accounted_for(controller, world)


def test_cut_right_after_the_pulse(controller: ControllerProcess, world: WorldProcess):
    """The door sprang open but the outcome was never written: the closing door completes it."""
    controller.start(die_at="unlock:after")
    delivery_id = controller.announce("CUT-L2")
    with pytest.raises(requests.ConnectionError):
        controller.post(f"/api/v1/deliveries/{delivery_id}/load")
    controller.wait_until(controller.died, what="the power cut")
    compartments = world.http.get("/sim/state").json()["compartments"]
    opened = [c["label"] for c in compartments if c["door"] == "open"]
    assert len(opened) == 1
    label = opened[0]
    controller.start()
    assert controller.delivery(delivery_id)["state"] == "loading"
    world.put_in(label)
    world.close_door(label)
    controller.wait_until(lambda: controller.state_is(delivery_id, "stored"))
    assert world.pulses(label) == 1
    assert len(controller.wait_until(world.codes)) == 1
    accounted_for(controller, world)


@pytest.mark.parametrize(
    "step", ["door open", "document in, door open", "door just closed", "stored, SMS unsent"]
)
def test_cut_while_loading(controller: ControllerProcess, world: WorldProcess, step: str):
    controller.start()
    if step == "stored, SMS unsent":
        world.fault("sms_down")
    delivery_id = controller.announce("CUT-L3")
    answer = controller.post(f"/api/v1/deliveries/{delivery_id}/load")
    label = answer.json()["compartment"]
    controller.wait_until(lambda: controller.sees_open(label))
    if step != "door open":
        world.put_in(label)
    if step in ("door just closed", "stored, SMS unsent"):
        world.close_door(label)
    if step == "stored, SMS unsent":
        controller.wait_until(lambda: controller.state_is(delivery_id, "stored"))
    restart(controller)
    if step == "door open":
        world.put_in(label)
    if step in ("door open", "document in, door open"):
        assert controller.delivery(delivery_id)["state"] == "loading"
        world.close_door(label)
    world.fault("sms_down", on=False)
    controller.wait_until(lambda: controller.state_is(delivery_id, "stored"))
    controller.post("/drill/clock/advance", {"seconds": 3600})
    code = controller.wait_until(world.codes)[0]
    assert world.pulses(label) == 1
    accounted_for(controller, world)
    controller.collect(code)
    controller.wait_until(lambda: controller.state_is(delivery_id, "collected"))
    code_spent(controller, code)
    assert world.pulses(label) == 2
    assert len(world.codes()) == 1, "the pickup code went out twice"


# --------------------------------------------------------------------------- pickup


@pytest.mark.parametrize("point", ["unlock:before", "unlock:after"])
def test_cut_inside_the_pickup(controller: ControllerProcess, world: WorldProcess, point: str):
    """Killed with the pickup recorded, before or after the pulse."""
    controller.start()
    delivery_id, label = controller.load("CUT-P1")
    code = controller.wait_until(world.codes)[0]
    controller.kill()
    controller.start(die_at=point)
    with pytest.raises(requests.ConnectionError):
        controller.pickup(code)
    controller.wait_until(controller.died, what="the power cut")
    controller.start()
    accounted_for(controller, world)
    if point == "unlock:before":
        # never opened: the delivery is stored again and the code still works, once
        assert controller.delivery(delivery_id)["state"] == "stored"
        assert world.pulses(label) == 1
        controller.collect(code)
    else:
        # the door opened: the citizen takes the document and closes it
        assert world.state(label)["door"] == "open"
        world.take_out(label)
        world.close_door(label)
    controller.wait_until(lambda: controller.state_is(delivery_id, "collected"))
    assert world.pulses(label) == 2
    code_spent(controller, code)
    accounted_for(controller, world)


@pytest.mark.parametrize(
    "step", ["door open", "document out, door open", "door just closed", "collected"]
)
def test_cut_while_collecting(controller: ControllerProcess, world: WorldProcess, step: str):
    controller.start()
    delivery_id, label = controller.load("CUT-P2")
    code = controller.wait_until(world.codes)[0]
    answer = controller.pickup(code)
    assert answer.status_code == 200, answer.text
    controller.wait_until(lambda: controller.sees_open(label))
    if step != "door open":
        world.take_out(label)
    if step in ("door just closed", "collected"):
        world.close_door(label)
    if step == "collected":
        controller.wait_until(lambda: controller.state_is(delivery_id, "collected"))
    restart(controller)
    code_spent(controller, code)  # also while the door still stands open
    if step == "door open":
        world.take_out(label)
    if step in ("door open", "document out, door open"):
        world.close_door(label)
    controller.wait_until(lambda: controller.state_is(delivery_id, "collected"))
    assert world.pulses(label) == 2
    code_spent(controller, code)
    accounted_for(controller, world)
    controller.wait_until(
        lambda: [m for m in world.messages() if not m["code"]], what="the receipt"
    )
    assert len(world.messages()) == 2, "one code message and one receipt, each once"
