"""What a scenario run reports: counts, alarms, dwell times, occupancy over time."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from simulator.scenario_spec import LOCAL, ScenarioSpec


@dataclass
class Tally:
    loaded: int = 0
    collected: int = 0
    expired: int = 0
    returned: int = 0
    came_too_late: int = 0
    kiosk_lockouts: int = 0
    turned_away: int = 0
    waited_for_space: int = 0
    jams: int = 0
    board_outages: int = 0
    sms_outages: int = 0
    forced_doors: int = 0
    doors_left_open: int = 0
    repairs: int = 0


@dataclass
class ScenarioResult:
    spec: ScenarioSpec
    tally: Tally
    states: dict[str, int]
    alarms: dict[str, int]
    dwell_hours: list[float]
    occupancy: list[tuple[datetime, int]]
    messages: int
    codes_sent_once: bool
    """Every citizen whose document was stored got exactly one message with a code."""
    wall_s: float
    start: datetime
    end: datetime
    chart: Path | None = None
    compartment_states: dict[str, int] = field(default_factory=dict)

    @property
    def peak_occupancy(self) -> int:
        return max((count for _, count in self.occupancy), default=0)

    @property
    def median_dwell_hours(self) -> float | None:
        return statistics.median(self.dwell_hours) if self.dwell_hours else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.spec.name,
            "simulated_days": self.spec.days,
            "compartments": self.spec.compartments,
            "deliveries_loaded": self.tally.loaded,
            "pickups": self.tally.collected,
            "expiries": self.tally.expired,
            "returns": self.tally.returned,
            "came_too_late": self.tally.came_too_late,
            "kiosk_lockouts_met": self.tally.kiosk_lockouts,
            "turned_away_by_faults": self.tally.turned_away,
            "loads_waiting_for_space": self.tally.waited_for_space,
            "alarms": self.alarms,
            "alarms_total": sum(self.alarms.values()),
            "faults_injected": {
                "jams": self.tally.jams,
                "board_outages": self.tally.board_outages,
                "sms_outages": self.tally.sms_outages,
                "forced_doors": self.tally.forced_doors,
                "doors_left_open": self.tally.doors_left_open,
            },
            "technician_repairs": self.tally.repairs,
            "median_dwell_hours": self.median_dwell_hours,
            "peak_occupancy": self.peak_occupancy,
            "messages_sent": self.messages,
            "codes_sent_once": self.codes_sent_once,
            "deliveries_by_state": self.states,
            "compartments_by_state": self.compartment_states,
            "wall_seconds": round(self.wall_s, 2),
            "chart": str(self.chart) if self.chart else None,
        }

    def report(self) -> str:
        t = self.tally
        dwell = self.median_dwell_hours
        alarms = ", ".join(f"{k} {v}" for k, v in sorted(self.alarms.items())) or "none"
        lines = [
            f"scenario {self.spec.name}: {self.spec.days} simulated day(s),"
            f" {self.start:%a %d %b %H:%M} – {self.end:%a %d %b %H:%M} ({LOCAL.key}),"
            f" {self.spec.compartments} compartments on {self.spec.boards} CU16 board(s)"
            f" at {self.spec.baud} baud,"
            f" run in {self.wall_s:.1f} s",
            f"  deliveries loaded     {t.loaded}"
            + (f" ({t.waited_for_space} loads waited for space)" if t.waited_for_space else ""),
            f"  pickups               {t.collected}",
            f"  expiries              {t.expired}   (came too late afterwards: {t.came_too_late};"
            f" citizens who met a kiosk lockout: {t.kiosk_lockouts})",
            f"  returns to the office {t.returned}",
            f"  alarms                {sum(self.alarms.values())}  ({alarms})",
            f"  faults injected       jams {t.jams}, boards offline {t.board_outages},"
            f" SMS outages {t.sms_outages}, forced doors {t.forced_doors},"
            f" doors left open {t.doors_left_open}; technician repairs {t.repairs};"
            f" citizens sent away to come back later {t.turned_away}",
            f"  median dwell time     {dwell:.1f} h" if dwell is not None else "  median dwell —",
            f"  peak occupancy        {self.peak_occupancy} of {self.spec.compartments}",
            f"  messages sent         {self.messages}"
            f" (each pickup code exactly once: {'yes' if self.codes_sent_once else 'NO'})",
            "  deliveries at the end "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.states.items())),
        ]
        if self.chart:
            lines.append(f"  occupancy chart       {self.chart}")
        return "\n".join(lines)
