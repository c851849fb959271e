"""``/sim``: the simulated world's controls (only mounted when running on the simulator).

``GET /sim`` is the developer's page (``templates/sim.html``, ``static/sim.js``): the bank
drawn live from ``/sim/state``, the inbox from ``/sim/messages``, and a button for every verb.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from kiosk.api.deps import controller
from locker.db import reading
from locker.errors import InvalidInput
from locker.models import Compartment

router = APIRouter(prefix="/sim", tags=["simulator"])
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

FaultKind = Literal[
    "jam",
    "board_offline",
    "corrupt_replies",
    "slow_replies",
    "silence",
    "left_open",
    "sms_down",
    "smtp_down",
]


class SimView:
    """The simulated world, and what the controller makes of it (for the page)."""

    def __init__(self, request: Request) -> None:
        self.controller = controller(request)
        found = self.controller.simulation
        assert found is not None
        self.sim = found.sim
        self.simulation = found

    def state(self) -> dict[str, Any]:
        """``/sim/state``, each compartment with ``controller``: the controller's state of it."""
        state = self.simulation.state()
        core = self.controller.core
        if core is not None:
            with reading(core.engine) as session:
                rows = {c.label: c for c in session.exec(select(Compartment))}
            for entry in state["compartments"]:
                row = rows.get(entry["label"])
                entry["controller"] = str(row.state) if row else None
        return state


Sim = Annotated[SimView, Depends(SimView)]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    present: bool


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: FaultKind
    target: str = ""
    on: bool


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0, le=400 * 86_400)


def _label(sim: SimView, label: str) -> str:
    if label not in sim.sim.world.labels:
        raise InvalidInput("label", f"There is no compartment {label!r} in the simulated bank.")
    return label


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request, sim: Sim) -> HTMLResponse:
    """The simulator's control page."""
    return TEMPLATES.TemplateResponse(request, "sim.html", {"state": sim.state()})


@router.get("/state")
def state(sim: Sim) -> dict[str, Any]:
    return sim.state()


@router.post("/compartments/{label}/close")
def close_door(label: str, sim: Sim) -> dict[str, Any]:
    """A person closes the door."""
    sim.sim.close_door(_label(sim, label))
    return sim.state()


@router.post("/compartments/{label}/force")
def force_door(label: str, sim: Sim) -> dict[str, Any]:
    """Someone forces the door open (tamper)."""
    sim.sim.force_door(_label(sim, label))
    return sim.state()


@router.post("/compartments/{label}/item")
def item(label: str, body: ItemIn, sim: Sim) -> dict[str, Any]:
    """Put the document in, or take it out (the door must be open)."""
    label = _label(sim, label)
    if not sim.sim.door_open(label):
        raise InvalidInput("label", f"The door of {label} is closed; open it first.")
    if body.present:
        sim.sim.put_item(label)
    else:
        sim.sim.take_item(label)
    return sim.state()


@router.post("/faults")
def fault(body: FaultIn, sim: Sim) -> dict[str, Any]:
    try:
        sim.simulation.set_fault(body.kind, body.target, body.on)
    except (ValueError, KeyError) as err:
        raise InvalidInput("target", str(err).strip("'\"")) from None
    return sim.state()


@router.post("/clock/advance")
def advance(body: ClockIn, request: Request, sim: Sim) -> dict[str, Any]:
    """Jump the clock ahead; expiries, reminders and erasure due by then happen at once."""
    sim.simulation.advance_clock(body.seconds)
    housekeeper = controller(request).housekeeper
    report = housekeeper.run_now() if housekeeper else None
    return {
        "now": sim.simulation.clock.now().isoformat(),
        "expired": report.expired if report else [],
        "reminded": report.reminded if report else [],
    }


@router.get("/messages")
def messages(sim: Sim) -> list[dict[str, Any]]:
    """What the SMS and mail stand-ins received, oldest first."""
    return sim.simulation.inbox.to_list()
