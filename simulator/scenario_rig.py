"""The parts a scenario (and ``locker bench``) drives: the bank's layout, waiting on the core's
events without sleeping."""

from __future__ import annotations

import threading
from dataclasses import replace

from hardware.layout import CompartmentConfig, Layout
from locker.core import Core, DomainEvent
from locker.vocabulary import Size
from simulator.board_layouts import board_layout
from simulator.scenario_spec import ScenarioSpec

WAIT_S = 10.0
"""Real seconds to wait for the hardware to answer before the run is declared broken."""


class ScenarioBroken(RuntimeError):
    """The controller did not do what the scenario needed within :data:`WAIT_S`."""


def scenario_layout(spec: ScenarioSpec) -> Layout:
    """``spec.boards`` CU16 boards on one bus; per board 8 S, 5 M and 3 L compartments."""
    base = board_layout("cu16", spec.boards, 16, spec.baud)
    bus = base.buses["bus"]
    fast = replace(
        bus, poll_ms=spec.poll_ms, timing=replace(bus.timing, offline_poll_s=0.2, retries=1)
    )

    def sized(c: CompartmentConfig) -> CompartmentConfig:
        channel = int(c.label[1:]) - 1
        size = Size.S if channel < 8 else Size.M if channel < 13 else Size.L
        return replace(c, size=size, row=channel % 4 + 1)

    return replace(
        base, compartments=tuple(sized(c) for c in base.compartments), buses={"bus": fast}
    )


class EventLog:
    """Every domain event the core published, to wait on without sleeping."""

    def __init__(self, core: Core) -> None:
        self.events: list[DomainEvent] = []
        self._changed = threading.Condition()
        self._stop = core.listen(self._add)

    def _add(self, event: DomainEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        with self._changed:
            return len(self.events)

    def wait(self, kind: str, since: int, *, compartment: str | None = None) -> DomainEvent:
        def found() -> DomainEvent | None:
            return next(
                (
                    e
                    for e in self.events[since:]
                    if e.kind == kind and compartment in (None, e.compartment)
                ),
                None,
            )

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, WAIT_S):
                raise ScenarioBroken(f"no {kind} event for {compartment} within {WAIT_S} s")
            event = found()
            assert event is not None
            return event

    def close(self) -> None:
        self._stop()
