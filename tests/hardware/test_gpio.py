"""The GPIO bank on gpiozero's own MockFactory: pulse length, door events, debounce, tamper."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockConnectedPin, MockFactory

from hardware.bank import build_bank
from hardware.gpio_bank import GpioBank
from hardware.layout import parse_layout
from locker.ports import EventKind, UnlockOutcome
from locker.vocabulary import DoorState

from .support import WAIT, Recorder

LOCK, DOOR, SENSE = 17, 27, 24


def layout(**keys: object) -> str:
    values = {"pulse_ms": 100, "debounce_ms": 15, **keys}
    extra = "\n".join(f"{k} = {_toml(v)}" for k, v in values.items())
    return (
        "[bank]\nlock_fault_after_s = 0.3\n[[compartment]]\n"
        f'label = "G01"\nsize = "S"\nrow = 1\nlock_pin = {LOCK}\ndoor_pin = {DOOR}\n{extra}\n'
    )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


class Relay:
    """The relay's output wired (gpiozero MockConnectedPin) to a sense input we can wait on."""

    def __init__(self, factory: MockFactory, active_high: bool = True) -> None:
        self.pin = factory.pin(LOCK, pin_class=MockConnectedPin, input_pin=factory.pin(SENSE))
        self.sense = DigitalInputDevice(
            SENSE, pull_up=None, active_state=active_high, pin_factory=factory
        )
        self.started, self.ended = threading.Event(), threading.Event()
        self.sense.when_activated = self.started.set
        self.sense.when_deactivated = self.ended.set

    def close(self) -> None:
        self.sense.close()


@contextmanager
def gpio_bank(
    text: str, door_closed: bool = True, closed_level: bool = False
) -> Iterator[tuple[GpioBank, MockFactory, Relay, Recorder]]:
    factory = MockFactory()
    relay = Relay(factory, active_high="lock_active" not in text)
    bank = build_bank(parse_layout(text, "gpio.toml"), pin_factory=factory, start=False)
    try:
        door = factory.pin(DOOR)
        if door_closed == closed_level:
            door.drive_high()
        else:
            door.drive_low()
        bank.start()
        assert bank.wait_settled(WAIT)
        recorder = Recorder()
        bank.subscribe(recorder)
        (only,) = bank.banks
        assert isinstance(only, GpioBank)
        yield only, factory, relay, recorder
    finally:
        bank.close()
        relay.close()


def test_unlock_pulses_the_relay_once_for_pulse_ms() -> None:
    with gpio_bank(layout(pulse_ms=120, spring_open=False)) as (bank, _, relay, _):
        relay.pin.clear_states()
        assert bank.unlock("G01").outcome == UnlockOutcome.UNLOCKED
        assert relay.started.wait(WAIT)
        assert relay.ended.wait(WAIT)
        relay.pin.assert_states_and_times([(0.0, False), (0.0, True), (0.12, False)])
        assert len(relay.pin.states) == 3


def test_active_low_relay_idles_high_and_pulses_low() -> None:
    with gpio_bank(layout(lock_active="low", spring_open=False)) as (bank, _, relay, _):
        assert relay.pin.state is True
        relay.pin.clear_states()
        bank.unlock("G01")
        assert relay.started.wait(WAIT)
        assert relay.ended.wait(WAIT)
        relay.pin.assert_states_and_times([(0.0, True), (0.0, False), (0.1, True)])


def test_door_opened_after_unlock_then_closed() -> None:
    with gpio_bank(layout()) as (bank, factory, relay, recorder):
        door = factory.pin(DOOR)
        relay.sense.when_activated = door.drive_high  # the spring pushes the door open
        assert bank.unlock("G01").outcome == UnlockOutcome.UNLOCKED
        recorder.wait_for(EventKind.DOOR_OPENED, "G01")
        assert bank.read("G01").door == DoorState.OPEN
        door.drive_low()
        recorder.wait_for(EventKind.DOOR_CLOSED, "G01")
        assert recorder.kinds() == [EventKind.DOOR_OPENED, EventKind.DOOR_CLOSED]
        assert bank.read("G01").door == DoorState.CLOSED


def test_door_opened_without_unlock_is_forced_open() -> None:
    with gpio_bank(layout()) as (_, factory, _, recorder):
        factory.pin(DOOR).drive_high()
        event = recorder.wait_for(EventKind.FORCED_OPEN, "G01")
        assert "without an unlock" in event.detail
        assert EventKind.DOOR_OPENED not in recorder.kinds()


def test_bouncing_contact_gives_one_event() -> None:
    with gpio_bank(layout(debounce_ms=100)) as (_, factory, _, recorder):
        door = factory.pin(DOOR)
        for _ in range(10):
            door.drive_high()
            door.drive_low()
        door.drive_high()
        recorder.wait_for(EventKind.FORCED_OPEN, "G01")
        door.drive_low()
        recorder.wait_for(EventKind.DOOR_CLOSED, "G01")
        assert recorder.kinds() == [EventKind.FORCED_OPEN, EventKind.DOOR_CLOSED]


def test_a_glitch_shorter_than_the_debounce_is_ignored() -> None:
    with gpio_bank(layout(debounce_ms=100)) as (_, factory, _, recorder):
        door = factory.pin(DOOR)
        door.drive_high()
        door.drive_low()  # back to closed at once: never a stable open door
        factory.pin(DOOR).drive_high()
        recorder.wait_for(EventKind.FORCED_OPEN, "G01")
        factory.pin(DOOR).drive_low()
        recorder.wait_for(EventKind.DOOR_CLOSED, "G01")
        assert recorder.kinds() == [EventKind.FORCED_OPEN, EventKind.DOOR_CLOSED]


def test_a_door_that_does_not_open_is_stayed_locked_then_a_lock_fault() -> None:
    with gpio_bank(layout()) as (bank, _, _, recorder):
        result = bank.unlock("G01")
        assert result.outcome == UnlockOutcome.STAYED_LOCKED
        event = recorder.wait_for(EventKind.LOCK_FAULT, "G01")
        assert "did not open" in event.detail


def test_door_switch_active_high_with_pull_down() -> None:
    text = layout(door_closed="high", door_pull="down")
    with gpio_bank(text, closed_level=True) as (bank, factory, _, recorder):
        assert bank.read("G01").door == DoorState.CLOSED
        factory.pin(DOOR).drive_low()
        recorder.wait_for(EventKind.FORCED_OPEN, "G01")
        assert bank.read("G01").door == DoorState.OPEN


def test_readings_have_no_lock_or_item_sensor() -> None:
    with gpio_bank(layout()) as (bank, _, _, _):
        reading = bank.read_all()["G01"]
        assert (reading.door, reading.locked, reading.item, reading.online) == (
            DoorState.CLOSED,
            None,
            None,
            True,
        )
