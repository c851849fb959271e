"""The simulator's world: physics, faults, the /sim state shape, and saving across restarts."""

from __future__ import annotations

import json

import pytest

from locker.ports import EventKind
from locker.vocabulary import DoorState
from simulator.physics import BankPhysics
from simulator.virtual_hardware import VirtualHardware, load_demo_layout, simulated_bank

from .support import Recorder, serial_layout


def test_a_pulse_springs_the_door_unless_jammed() -> None:
    world = BankPhysics(["A01", "A02"])
    world.jam("A02")
    world.pulse("A01")
    world.pulse("A02")
    assert (world.compartment("A01").door_open, world.compartment("A01").locked) == (True, False)
    assert (world.compartment("A02").door_open, world.compartment("A02").locked) == (False, True)
    assert world.pulses("A02") == 1


def test_a_latched_door_does_not_open_by_pulling_but_an_unlatched_one_does() -> None:
    world = BankPhysics(["A01"])
    world.open_door("A01")
    assert not world.compartment("A01").door_open
    world.pulse("A01")
    world.close_door("A01")
    assert world.compartment("A01").locked
    world.force_door("A01")
    assert world.compartment("A01").door_open
    assert world.compartment("A01").faults() == ["forced"]
    world.close_door("A01")
    assert world.compartment("A01").faults() == []


def test_state_has_the_shape_of_get_sim_state() -> None:
    world = BankPhysics(["A01"], ["bus:0"], ["bus"])
    world.put_item("A01")
    world.jam("A01")
    world.set_board_faults("bus:0", offline=True)
    state = world.state()
    assert state["compartments"] == [
        {
            "label": "A01",
            "door": "closed",
            "locked": True,
            "item": True,
            "faults": ["jammed"],
            "pulses": 0,
        }
    ]
    assert state["boards"] == [{"board": "bus:0", "faults": ["board_offline"]}]


def test_world_survives_a_round_trip_through_json() -> None:
    world = BankPhysics(["A01", "A02"], ["bus:0"], ["bus"])
    world.pulse("A01")
    world.put_item("A02")
    world.jam("A02")
    world.set_board_faults("bus:0", corrupt_rate=0.25)
    world.set_silent("bus")
    saved = json.loads(json.dumps(world.to_dict()))
    restored = BankPhysics.from_dict(saved)
    assert restored.to_dict() == world.to_dict()
    assert restored.state() == world.state()


def test_a_restarted_simulator_starts_from_the_saved_world(recorder: Recorder) -> None:
    layout = load_demo_layout()
    with simulated_bank(layout, latency_ms=1) as (bank, sim):
        bank.unlock("A02")
        bank.unlock("G02")
        sim.put_item("A03")
        saved = json.loads(json.dumps(sim.to_dict()))
    with simulated_bank(layout, latency_ms=1, state=saved) as (bank, sim):
        bank.subscribe(recorder)
        assert bank.read("A02").door == DoorState.OPEN
        assert bank.read("G02").door == DoorState.OPEN
        assert bank.read("A03").item is True
        assert bank.read("A01").door == DoorState.CLOSED
        sim.close_door("G02")
        recorder.wait_for(EventKind.DOOR_CLOSED, "G02")
        assert EventKind.FORCED_OPEN not in recorder.kinds()


def test_set_fault_speaks_the_sim_faults_api() -> None:
    with VirtualHardware(serial_layout("cu16")) as sim:
        sim.set_fault("jam", "A01", True)
        sim.set_fault("board_offline", "1", True)
        sim.set_fault("corrupt_replies", "", True)
        sim.set_fault("slow_replies", "bus:0", True)
        state = sim.state()
        assert state["compartments"][0]["faults"] == ["jammed"]
        boards = {b["board"]: b["faults"] for b in state["boards"]}
        assert boards == {
            "bus:0": ["corrupt_replies", "slow_replies"],
            "bus:1": ["board_offline", "corrupt_replies"],
        }
        assert [c["faults"] for c in state["compartments"] if c["label"].startswith("B")] == [
            ["board_offline"]
        ] * 4
        sim.set_fault("board_offline", "bus:1", False)
        assert "board_offline" not in {f for b in sim.state()["boards"] for f in b["faults"]}
        with pytest.raises(ValueError, match="unknown hardware fault"):
            sim.set_fault("sms_down", "", True)


def test_board_names_must_be_unambiguous() -> None:
    layout = load_demo_layout()
    with VirtualHardware(layout) as sim:
        assert sim.board_id(1) == "rs485:1"
        with pytest.raises(ValueError, match="bus:address"):
            sim.board_id(7)


def test_gpio_door_pins_follow_the_world() -> None:
    layout = load_demo_layout()
    with VirtualHardware(layout) as sim:
        assert sim.gpio is not None
        sim.gpio.resync()
        pin = sim.gpio.door_pin("G01")
        assert pin.state is False  # closed pulls the switch low
        sim.physics.pulse("G01")
        assert pin.state is True
        sim.close_door("G01")
        assert pin.state is False


def test_watchers_hear_every_change_so_the_demo_can_save_it() -> None:
    world = BankPhysics(["A01"], ["bus:0"], ["bus"])
    saved: list[dict[str, object]] = []
    stop = world.watch(lambda: saved.append(world.to_dict()))
    world.set_item("A01", True)
    world.set_board_faults("bus:0", offline=True)
    world.set_silent("bus")
    world.pulse("A01")
    assert len(saved) == 4
    assert BankPhysics.from_dict(saved[-1]).state() == world.state()
    stop()
    world.close_door("A01")
    assert len(saved) == 4
