"""What a simulated period looks like: named scenarios (``week``, ``day``) or a TOML file.

::

    # my-scenario.toml — every key is optional; missing ones come from the "week" scenario
    days = 7
    deliveries = 300
    no_show = 0.10          # share of citizens who never come
    pickup_days = 4         # the city's policy for this run
    boards = 8              # CU16 boards of 16 compartments on one bus
    baud = 115200
    seed = 1
    jams = 3
    board_outages = 2
    sms_outages = 1
    forced_doors = 1
    doors_left_open = 2
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Europe/Berlin")
"""The locker's time zone: opening hours and the citizens' day are local time."""
START = datetime(2026, 1, 5, tzinfo=LOCAL)
"""Every scenario starts on this Monday at midnight."""


@dataclass(frozen=True)
class ScenarioSpec:
    name: str = "week"
    days: int = 7
    deliveries: int = 300
    no_show: float = 0.10
    pickup_days: int = 4
    boards: int = 8
    baud: int = 115_200
    """The scenario checks controller logic, not wire timing (``locker bench`` does, at 19200)."""
    seed: int = 1
    jams: int = 3
    board_outages: int = 2
    sms_outages: int = 1
    forced_doors: int = 1
    doors_left_open: int = 2
    board_latency_ms: float = 2.0
    poll_ms: int = 5
    tick_minutes: int = 15
    """How often housekeeping and the outbox run on the virtual clock."""

    @property
    def compartments(self) -> int:
        return self.boards * 16


SCENARIOS = {
    "week": ScenarioSpec(),
    "day": ScenarioSpec(
        name="day",
        days=1,
        deliveries=50,
        jams=1,
        board_outages=1,
        sms_outages=1,
        forced_doors=0,
        doors_left_open=1,
    ),
    "quiet-week": ScenarioSpec(
        name="quiet-week",
        jams=0,
        board_outages=0,
        sms_outages=0,
        forced_doors=0,
        doors_left_open=0,
    ),
}


def load_spec(name_or_path: str) -> ScenarioSpec:
    """A named scenario, or a TOML file whose keys override the ``week`` scenario."""
    if name_or_path in SCENARIOS:
        return SCENARIOS[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"no scenario {name_or_path!r}: name one of {known}, or a TOML file")
    data: dict[str, Any] = tomllib.loads(path.read_text())
    allowed = {f.name for f in fields(ScenarioSpec)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{path}: unknown keys {', '.join(unknown)}")
    spec = replace(SCENARIOS["week"], name=path.stem, **data)
    if not 1 <= spec.boards <= 16 or spec.days < 1 or not 0 <= spec.no_show <= 1:
        raise ValueError(f"{path}: boards must be 1..16, days ≥ 1, no_show 0..1")
    return spec
