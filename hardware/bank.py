"""One :class:`locker.ports.LockBank` for a whole layout, whatever mix of boards and pins it has."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, Protocol

from hardware.layout import GpioPlace, Layout, ScreenConfig, SerialPlace
from hardware.serial_bank import SerialBoardBank
from locker.ports import (
    CompartmentReading,
    CompartmentSpec,
    EventCallback,
    LockBank,
    UnlockResult,
    Unsubscribe,
)


class SettlingBank(LockBank, Protocol):
    def start(self) -> None: ...

    def wait_settled(self, timeout: float) -> bool: ...


class CompositeBank:
    """Several banks behind one: labels are routed to the bank that has them."""

    def __init__(
        self,
        banks: Sequence[SettlingBank],
        order: Sequence[str] = (),
        screen: ScreenConfig | None = None,
    ) -> None:
        self._banks = list(banks)
        self.screen = screen
        """Where the layout puts the touchscreen (the kiosk keeps its controls within reach)."""
        self._owner: dict[str, SettlingBank] = {}
        specs: list[CompartmentSpec] = []
        for bank in self._banks:
            for spec in bank.compartments():
                self._owner[spec.label] = bank
                specs.append(spec)
        rank = {label: index for index, label in enumerate(order)}
        self._specs = sorted(specs, key=lambda spec: rank.get(spec.label, len(rank)))
        self._closed = False

    @property
    def banks(self) -> Sequence[SettlingBank]:
        return list(self._banks)

    def compartments(self) -> Sequence[CompartmentSpec]:
        return list(self._specs)

    def unlock(self, label: str) -> UnlockResult:
        return self._owner[label].unlock(label)

    def read(self, label: str) -> CompartmentReading:
        return self._owner[label].read(label)

    def read_all(self) -> Mapping[str, CompartmentReading]:
        readings: dict[str, CompartmentReading] = {}
        for bank in self._banks:
            readings.update(bank.read_all())
        return {spec.label: readings[spec.label] for spec in self.compartments()}

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        unsubscribes = [bank.subscribe(callback) for bank in self._banks]

        def unsubscribe() -> None:
            for each in unsubscribes:
                each()

        return unsubscribe

    def start(self) -> None:
        for bank in self._banks:
            bank.start()

    def wait_settled(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(bank.wait_settled(max(0.0, deadline - time.monotonic())) for bank in self._banks)

    def responsive(self, timeout: float) -> bool:
        """Every part's owner threads answer (parts without threads of their own always do)."""
        deadline = time.monotonic() + timeout
        probes = [getattr(bank, "responsive", None) for bank in self._banks]
        return all(
            probe(max(0.0, deadline - time.monotonic())) for probe in probes if probe is not None
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for bank in self._banks:
            bank.close()

    def __enter__(self) -> CompositeBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pin_factory_named(name: str) -> Any:
    """A gpiozero pin factory by its registered name (``mock``, ``lgpio``, ``rpigpio``, …)."""
    for entry in entry_points(group="gpiozero_pin_factories"):
        if entry.name == name.lower():
            return entry.load()()
    raise ValueError(f"unknown gpiozero pin factory {name!r}")


def build_bank(
    layout: Layout,
    pin_factory: Any = None,
    monotonic: Callable[[], float] = time.monotonic,
    start: bool = True,
) -> CompositeBank:
    """The lock bank of a whole layout: serial boards and GPIO pins behind one LockBank.

    ``pin_factory`` is a gpiozero factory object or its name (``"mock"`` runs anywhere); it is
    only used when the layout has GPIO compartments. With ``start=False`` the ports and pins
    are set up but nothing is read until :meth:`CompositeBank.start`.
    """
    serial = [c for c in layout.compartments if isinstance(c.place, SerialPlace)]
    gpio = [c for c in layout.compartments if isinstance(c.place, GpioPlace)]
    if isinstance(pin_factory, str):
        pin_factory = pin_factory_named(pin_factory)
    banks: list[SettlingBank] = []
    try:
        if serial:
            banks.append(
                SerialBoardBank(serial, layout.buses, layout.lock_fault_after_s, monotonic, start)
            )
        if gpio:
            from hardware.gpio_bank import GpioBank  # noqa: PLC0415 - gpiozero only with pins

            banks.append(GpioBank(gpio, pin_factory, layout.lock_fault_after_s, monotonic, start))
    except Exception:
        for bank in banks:
            bank.close()
        raise
    labels = [compartment.label for compartment in layout.compartments]
    return CompositeBank(banks, labels, layout.screen)
