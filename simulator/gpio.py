"""GPIO compartments on gpiozero's ``MockFactory``, driven by the simulated world.

Each lock pin is a gpiozero :class:`~gpiozero.pins.mock.MockConnectedPin` whose "input" is a
relay coil: when the controller's output energises it, the world gets a lock pulse. Each door
pin is driven high or low by the world's door state, as a door switch would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpiozero.pins.mock import MockConnectedPin

from hardware.layout import CompartmentConfig, GpioPlace
from simulator.physics import BankPhysics


class _Coil:
    """Stands where MockConnectedPin expects an input pin: it feels the relay output's level."""

    def __init__(self, physics: BankPhysics, label: str, active_high: bool) -> None:
        self._physics = physics
        self._label = label
        self._active_high = active_high
        self.energised = False

    def drive_high(self) -> None:
        self._feel(True)

    def drive_low(self) -> None:
        self._feel(False)

    def _feel(self, level: bool) -> None:
        energised = level == self._active_high
        if energised and not self.energised:
            self.energised = True
            self._physics.pulse(self._label)
        self.energised = energised


class GpioRig:
    def __init__(
        self, physics: BankPhysics, compartments: Sequence[CompartmentConfig], factory: Any
    ) -> None:
        self._physics = physics
        self._factory = factory
        self._places: dict[str, GpioPlace] = {}
        self.coils: dict[str, _Coil] = {}
        for compartment in compartments:
            place = compartment.place
            assert isinstance(place, GpioPlace)
            self._places[compartment.label] = place
            coil = _Coil(physics, compartment.label, place.lock_active_high)
            self.coils[compartment.label] = coil
            factory.pin(place.lock_pin, pin_class=MockConnectedPin, input_pin=coil)
        self._unlisten = physics.listen(self._changed)

    def door_pin(self, label: str) -> Any:
        return self._factory.pin(self._places[label].door_pin)

    def resync(self) -> None:
        """Drive every door pin to the world's state (after the controller set up its pulls)."""
        for label in self._places:
            self._changed(label)

    def close(self) -> None:
        self._unlisten()

    def _changed(self, label: str) -> None:
        place = self._places.get(label)
        if place is None:
            return
        pin = self.door_pin(label)
        if pin.function != "input":
            return
        closed = not self._physics.compartment(label).door_open
        if closed == place.door_closed_high:
            pin.drive_high()
        else:
            pin.drive_low()
