"""The demo's glue: the controller's web app with the simulated world's ``/sim`` mounted.

Imported only by ``locker demo`` and by tests that drive the demo's stack; the production
command never loads it (it imports the simulator).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from locker.config import Settings
from locker.services.compartments import compartment_states
from runtime.controller import Controller
from simulator.control import ControllerView, control_router
from simulator.world import SimulatedWorld


def sim_router(world: SimulatedWorld, controller: Controller) -> APIRouter:
    """``/sim`` for ``world``, showing ``controller``'s state of each compartment; a clock jump
    runs housekeeping at once and wakes the outbox."""

    def after_clock_jump() -> dict[str, list[str]]:
        if controller.housekeeper is None:
            return {}
        report = controller.housekeeper.run_now()
        if controller.outbox is not None:
            controller.outbox.wake()
        return {"expired": report.expired, "reminded": report.reminded}

    view = ControllerView(
        compartment_states=lambda: (
            compartment_states(controller.running) if controller.core is not None else {}
        ),
        after_clock_jump=after_clock_jump,
    )
    return control_router(world, view)


def world_controller(world: SimulatedWorld, settings: Settings, **options: Any) -> Controller:
    """The runtime's controller on ``world``'s bank and clock (not built yet)."""
    assert world.bank is not None, "the world was built without a bank"
    return Controller(settings, bank=world.bank, clock=world.clock, **options)
