"""``locker sim run``: a simulated day with faults through the real controller; its report adds
up, nothing is left half-way, every citizen got exactly one code, and the chart is a PNG."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

LOCKER = Path(sys.executable).with_name("locker")


def test_a_day_with_faults(tmp_path: Path):
    scenario = tmp_path / "busy-day.toml"
    scenario.write_text(
        "days = 2\ndeliveries = 80\npickup_days = 1\nboards = 2\nseed = 7\n"
        "jams = 2\nboard_outages = 1\nsms_outages = 1\nforced_doors = 1\ndoors_left_open = 1\n"
    )
    chart = tmp_path / "chart.png"
    done = subprocess.run(
        [str(LOCKER), "sim", "run", str(scenario), "--chart", str(chart), "--json"],
        capture_output=True,
        text=True,
        timeout=110,
        check=True,
    )
    report = json.loads(done.stdout)
    states = report["deliveries_by_state"]
    assert report["deliveries_loaded"] + states.get("announced", 0) == 80
    assert sum(states.values()) == 80
    assert not {"loading", "collecting", "retrieving"} & set(states), states
    assert report["pickups"] == states.get("collected", 0) > 0
    assert report["returns"] == states.get("returned", 0)
    assert report["expiries"] == states.get("expired", 0) + report["returns"]
    assert report["faults_injected"]["sms_outages"] == 1
    assert report["alarms"].get("forced_open") == 1
    assert report["alarms"].get("door_left_open", 0) >= report["faults_injected"]["doors_left_open"]
    assert report["peak_occupancy"] <= report["compartments"]
    assert report["median_dwell_hours"] > 0
    assert report["codes_sent_once"] is True
    with Image.open(chart) as image:
        assert image.format == "PNG"
        assert image.size == (1200, 480)
