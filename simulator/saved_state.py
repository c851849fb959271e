"""The shape of ``simulator.json``, checked before the world is built from it.

A file that parses as JSON can still be wrong: a compartment missing (it would come back
empty and closed, and the document in it would vanish while the controller says
``occupied``), a label the layout does not have, a door state that is a string. Each is
refused with the file and the place named, instead of quietly becoming an empty world.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

STRICT = ConfigDict(extra="forbid", strict=True)


class SavedCompartment(BaseModel):
    model_config = STRICT
    locked: bool
    door_open: bool
    item: bool
    jammed: bool = False
    forced: bool = False
    left_open: bool = False
    pulses: int = Field(default=0, ge=0)


class SavedBoard(BaseModel):
    model_config = STRICT
    offline: bool = False
    corrupt_rate: float = Field(default=0.0, ge=0, le=1)
    slow_ms: float = Field(default=0.0, ge=0)
    lose_replies: int = Field(default=0, ge=0)


class SavedPhysics(BaseModel):
    model_config = STRICT
    compartments: dict[str, SavedCompartment]
    boards: dict[str, SavedBoard] = Field(default_factory=dict)
    silent: dict[str, bool] = Field(default_factory=dict)


class SavedWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")
    world: SavedPhysics
    inbox: list[dict[str, Any]] = Field(default_factory=list)
    clock_offset_s: float = 0.0
    message_faults: dict[str, bool] = Field(default_factory=dict)


def problems(data: Any, labels: list[str]) -> list[str]:
    """What is wrong with a saved world for a bank of ``labels`` (empty when nothing)."""
    try:
        saved = SavedWorld.model_validate(data)
    except ValidationError as err:
        return [
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in err.errors()[:5]
        ]
    found = []
    missing = sorted(set(labels) - set(saved.world.compartments))
    unknown = sorted(set(saved.world.compartments) - set(labels))
    if missing:
        found.append(f"world.compartments: no state for {', '.join(missing)}")
    if unknown:
        found.append(f"world.compartments: {', '.join(unknown)} are not in the layout")
    return found
