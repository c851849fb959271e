"""One lock-bank contract, run against every implementation on the simulator.

serial CU16 boards, serial 8A/80 boards, and GPIO pins: the same unlock contract of
``locker.ports`` (at most one pulse, an outcome that says what is known) and the same events.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hardware.bank import CompositeBank
from locker.ports import EventKind, UnlockOutcome
from locker.vocabulary import DoorState
from simulator.virtual_hardware import VirtualHardware, simulated_bank

from .support import Recorder, gpio_layout, serial_layout

Rig = tuple[CompositeBank, VirtualHardware, Recorder]


@pytest.fixture(params=["cu16", "xor8a", "gpio"])
def rig(request: pytest.FixtureRequest, recorder: Recorder) -> Iterator[Rig]:
    layout = gpio_layout() if request.param == "gpio" else serial_layout(request.param)
    with simulated_bank(layout, latency_ms=1) as (bank, sim):
        bank.subscribe(recorder)
        yield bank, sim, recorder


@pytest.fixture(params=["cu16", "xor8a"])
def serial_rig(request: pytest.FixtureRequest, recorder: Recorder) -> Iterator[Rig]:
    with simulated_bank(serial_layout(request.param), latency_ms=1) as (bank, sim):
        bank.subscribe(recorder)
        yield bank, sim, recorder


def first(bank: CompositeBank) -> str:
    return bank.compartments()[0].label


def test_compartments_come_in_layout_order(rig: Rig) -> None:
    bank, sim, _ = rig
    specs = bank.compartments()
    assert [spec.label for spec in specs] == [c.label for c in sim.layout.compartments]
    assert all(spec.row >= 1 for spec in specs)


def test_unlock_opens_the_door_with_one_pulse(rig: Rig) -> None:
    bank, sim, recorder = rig
    label = first(bank)
    result = bank.unlock(label)
    assert result.label == label
    assert result.outcome == UnlockOutcome.UNLOCKED
    assert sim.pulses(label) == 1
    recorder.wait_for(EventKind.DOOR_OPENED, label)
    assert bank.read(label).door == DoorState.OPEN
    assert EventKind.FORCED_OPEN not in recorder.kinds(label)


def test_closing_the_door_is_seen(rig: Rig) -> None:
    bank, sim, recorder = rig
    label = first(bank)
    bank.unlock(label)
    recorder.wait_for(EventKind.DOOR_OPENED, label)
    sim.close_door(label)
    recorder.wait_for(EventKind.DOOR_CLOSED, label)
    assert bank.read(label).door == DoorState.CLOSED
    assert recorder.kinds(label) == [EventKind.DOOR_OPENED, EventKind.DOOR_CLOSED]


def test_jammed_lock_stays_locked_and_becomes_a_lock_fault(rig: Rig) -> None:
    bank, sim, recorder = rig
    label = first(bank)
    sim.jam(label)
    assert bank.unlock(label).outcome == UnlockOutcome.STAYED_LOCKED
    assert sim.pulses(label) == 1
    recorder.wait_for(EventKind.LOCK_FAULT, label)
    assert bank.read(label).door == DoorState.CLOSED


def test_forced_door_is_reported_as_forced_open(rig: Rig) -> None:
    bank, sim, recorder = rig
    label = bank.compartments()[1].label
    sim.force_door(label)
    event = recorder.wait_for(EventKind.FORCED_OPEN, label)
    assert event.label == label
    assert EventKind.DOOR_OPENED not in recorder.kinds(label)
    assert sim.pulses(label) == 0


def test_unlocking_an_open_door_is_unlocked_and_no_fault(rig: Rig) -> None:
    bank, sim, recorder = rig
    label = first(bank)
    bank.unlock(label)
    recorder.wait_for(EventKind.DOOR_OPENED, label)
    assert bank.unlock(label).outcome == UnlockOutcome.UNLOCKED
    sim.close_door(label)
    recorder.wait_for(EventKind.DOOR_CLOSED, label)
    assert EventKind.LOCK_FAULT not in recorder.kinds(label)


def test_a_door_left_open_stays_open(rig: Rig) -> None:
    bank, sim, recorder = rig
    label = first(bank)
    bank.unlock(label)
    sim.leave_open(label)
    sim.close_door(label)
    recorder.wait_for(EventKind.DOOR_OPENED, label)
    assert bank.read(label).door == DoorState.OPEN
    assert "left_open" in sim.state()["compartments"][0]["faults"]


def test_read_all_reads_every_compartment(rig: Rig) -> None:
    bank, sim, _ = rig
    labels = [spec.label for spec in bank.compartments()]
    sim.force_door(labels[2])
    readings = bank.read_all()
    assert list(readings) == labels
    assert [r.door for r in readings.values()].count(DoorState.OPEN) == 1
    assert readings[labels[2]].door == DoorState.OPEN
    assert all(r.online for r in readings.values())


def test_unknown_label_is_a_key_error(rig: Rig) -> None:
    bank, _, _ = rig
    with pytest.raises(KeyError):
        bank.unlock("Z99")
    with pytest.raises(KeyError):
        bank.read("Z99")


def test_unsubscribed_callbacks_hear_nothing(rig: Rig) -> None:
    bank, sim, recorder = rig
    quiet = Recorder()
    unsubscribe = bank.subscribe(quiet)
    unsubscribe()
    label = first(bank)
    sim.force_door(label)
    recorder.wait_for(EventKind.FORCED_OPEN, label)
    assert quiet.events == []


def test_close_is_idempotent_and_unlock_after_close_is_not_sent(rig: Rig) -> None:
    bank, sim, _ = rig
    bank.close()
    bank.close()
    label = first(bank)
    assert bank.unlock(label).outcome == UnlockOutcome.NOT_SENT
    assert sim.pulses(label) == 0


# ---------------------------------------------------------------------- serial boards only


def test_board_offline_is_reported_and_unlocks_are_not_sent(serial_rig: Rig) -> None:
    bank, sim, recorder = serial_rig
    board = sim.layout.buses["bus"].boards[1].address
    sim.board_offline(board)
    event = recorder.wait_for(EventKind.BOARD_OFFLINE)
    assert event.board == f"bus:{board}"
    assert event.labels == ("B01", "B02", "B03", "B04")
    assert bank.unlock("B01").outcome == UnlockOutcome.NOT_SENT
    assert sim.pulses("B01") == 0
    reading = bank.read("B01")
    assert (reading.online, reading.door) == (False, DoorState.UNKNOWN)
    sim.board_online(board)
    recorder.wait_for(EventKind.BOARD_ONLINE)
    assert bank.unlock("B01").outcome == UnlockOutcome.UNLOCKED


def test_lost_unlock_reply_is_settled_and_pulsed_once(serial_rig: Rig) -> None:
    bank, sim, recorder = serial_rig
    board = sim.layout.buses["bus"].boards[0].address
    sim.lose_replies(board, 1)
    assert bank.unlock("A02").outcome == UnlockOutcome.UNLOCKED
    recorder.wait_for(EventKind.DOOR_OPENED, "A02")
    assert sim.pulses("A02") == 1


def test_silent_bus_makes_the_unlock_uncertain_and_it_is_not_resent(serial_rig: Rig) -> None:
    bank, sim, recorder = serial_rig
    sim.silence()
    result = bank.unlock("A03")
    assert result.outcome == UnlockOutcome.UNCERTAIN
    assert result.detail
    sim.silence(False)
    recorder.wait_for(EventKind.DOOR_OPENED, "A03")
    assert sim.pulses("A03") == 1


def test_items_are_seen_by_cu16_infrared_inputs(recorder: Recorder) -> None:
    with simulated_bank(serial_layout("cu16"), latency_ms=1) as (bank, sim):
        bank.subscribe(recorder)
        sim.put_item("A04")
        event = recorder.wait_for(EventKind.ITEM_CHANGED, "A04")
        assert event.item is True
        assert bank.read("A04").item is True
        sim.take_item("A04")
        assert recorder.wait_until(
            lambda events: (
                [e.item for e in events if e.kind == EventKind.ITEM_CHANGED] == [True, False]
            )
        )
