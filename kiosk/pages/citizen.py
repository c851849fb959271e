"""The citizen's screens: welcome (with the language switch) and pickup.

The pickup page is one page whose steps (show the code, date of birth, receipt confirmation,
compartment open, done, error) are switched by ``static/kiosk.js``; nothing a citizen entered
survives a reload or the return to the welcome screen. The picture of the bank carries labels
and positions only, never anything about a delivery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, Request
from starlette.responses import Response

from kiosk.api.deps import core
from kiosk.pages.assistance import Assistance
from kiosk.pages.reach import reach_band
from kiosk.pages.render import page
from locker import codes

router = APIRouter(include_in_schema=False)


class Placed(Protocol):
    """A compartment's place: a layout's ``CompartmentSpec`` or a ``Compartment`` row."""

    @property
    def label(self) -> str: ...
    @property
    def size(self) -> str: ...
    @property
    def row(self) -> int: ...


@dataclass(frozen=True)
class Cell:
    label: str
    size: str


def bank_picture(specs: Iterable[Placed]) -> list[list[list[Cell]]]:
    """Columns (by the label's letters) of rows (top row first) of cells (by label)."""
    columns: dict[str, dict[int, list[Cell]]] = {}
    for spec in sorted(specs, key=lambda s: s.label):
        column = re.sub(r"\d+$", "", spec.label) or "?"
        columns.setdefault(column, {}).setdefault(spec.row, []).append(
            Cell(spec.label, str(spec.size))
        )
    return [
        [rows[row] for row in sorted(rows, reverse=True)] for _name, rows in sorted(columns.items())
    ]


def _context(request: Request) -> dict[str, Any]:
    settings = core(request).settings
    return {
        "inactivity_s": settings.kiosk.inactivity_s,
        "locker_name": settings.locker.name,
        "location": settings.locker.location,
        "assist": Assistance.of(request),
        "reach_band": reach_band(core(request).bank, settings.policy.reach_max_mm),
    }


@router.get("/")
def welcome(request: Request) -> Response:
    return page(request, "welcome.html", **_context(request))


@router.get("/pickup")
def pickup(request: Request) -> Response:
    columns = bank_picture(core(request).bank.compartments())
    return page(
        request,
        "pickup.html",
        columns=columns,
        alphabet=codes.ALPHABET,
        group=codes.GROUP,
        length=codes.CODE_LENGTH,
        legacy_length=codes.LEGACY_LENGTH,
        **_context(request),
    )
