"""Every benchmark runs at tiny sizes and gives its figures under the documented keys.

Timings are never asserted here (benchmarks are measured, not passed or failed): only that each
figure exists, is a finite number with a unit and a label, and that ``locker bench`` prints them
as a table and as JSON. The keys are the contract docs/performance.md describes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from benchmarks import camera_pickup, flood, harness
from benchmarks.served import shared_servers
from kiosk.cli import main as locker

LATENCY = ("p50_ms", "p99_ms")
KEYS = {
    "appliance": {"ready_median_s", "ready_max_s", "ready_cpu_s", "rss_mb", "installed_mb"},
    "bank_unlock": {"unlock_" + k for k in (*LATENCY, "floor_ms", "p99_floors")},
    "bulk_import": {"seconds"},
    "camera_pickup": {
        f"{what}_{k}"
        for what in ("frame_to_unlock", "scan_request", "pickup_request")
        for k in LATENCY
    },
    "controller_cpu": {"idle_percent", "announce_ms", "load_ms", "pickup_ms"},
    "controller_rss": {
        "start_mb",
        "after_first_mb",
        "after_then_mb",
        "after_then_anon_mb",
        "after_then_file_mb",
        "growth_mb",
    },
    "fleet_ingest": {
        "event_to_stored_p50_ms",
        "event_to_stored_p99_ms",
        "offered_per_s",
        "ingest_per_s",
        "catch_up_s",
        "lost",
        "duplicated",
        "centre_rss_mb",
        "centre_cpu_percent",
        "sim_cpu_per_box_ms",
        "sim_rss_mb",
    },
    "flood": {f"{when}_pickup_{k}" for when in ("quiet", "flood") for k in LATENCY}
    | {"flood_p50_ratio", "baseline_rss_mb", "peak_rss_mb", "flood_seconds", "flood_requests"}
    | {"flood_per_s", "answered_other"}
    | {
        f"answered_{status}"
        for status in ("403", "404", "413", "429", "503", "other_4xx", "5xx", "closed")
    },
    "notify_latency": {f"door_closed_to_sms_{k}" for k in LATENCY},
    "notify_throughput": {"sms_per_s", "email_per_s", "both_4_threads_per_s"},
    "qr_decode": {
        f"{what}_{k}"
        for what in ("qr_only", "all_symbologies", "scan_with_code", "scan_no_code")
        for k in LATENCY
    }
    | {"frame_bytes"},
    "startup": {"median_s", "max_s"},
    "sweep": {f"boards_{n}_{k}" for n in (1, 4, 16) for k in (*LATENCY, "floor_ms", "p50_floors")},
    "unlock": {"unlock_" + k for k in (*LATENCY, "floor_ms", "p99_floors")},
    "speech": {
        f"{what}_{k}"
        for what in (
            "screen_to_audio_cached",
            "screen_to_audio_uncached",
            "synthesis",
            "synthesis_cached",
        )
        for k in LATENCY
    },
    "webhook_delivery": {"lag_p50_ms", "lag_p99_ms", "per_minute"},
    "week": {"wall_s", "loaded", "pickups", "expiries", "messages", "codes_sent_once"},
}


SHARED = ({}, camera_pickup.SERVED, flood.SERVED)
"""The :func:`~benchmarks.served.served` options the benchmarks ask for (the default: unlock,
controller_cpu, controller_rss, speech)."""


@pytest.fixture(scope="module", autouse=True)
def one_server_for_the_same_options() -> Iterator[None]:
    """The benchmarks that drive ``locker serve`` with the same layout and settings drive one
    (each start takes seconds; start-up has a benchmark of its own, which starts its own),
    started here, before the leak check of the first benchmark that uses it begins."""
    with shared_servers(start=SHARED):
        yield


def test_every_benchmark_module_is_known_here() -> None:
    assert set(harness.names()) == set(KEYS)


@pytest.mark.parametrize("name", sorted(set(KEYS) - {"fleet_ingest"}))
def test_each_benchmark_gives_its_figures(name: str) -> None:
    benchmark = harness.load(name)
    result = harness.run(name, benchmark, benchmark.smoke)
    assert {f.key for f in result.figures} == KEYS[name]
    for figure in result.figures:
        assert isinstance(figure.value, int | float) and math.isfinite(figure.value), figure
        assert figure.label and isinstance(figure.unit, str)
        assert figure.met in (True, False, None)
    record = json.loads(harness.as_json([result]))["benchmarks"][name]
    assert set(record["figures"]) == KEYS[name]
    assert record["params"] == {**benchmark.full, **benchmark.smoke}
    for figure in result.figures:
        assert figure.label in harness.block(result)


def test_the_fleet_benchmark_gives_its_figures() -> None:
    """The long one, with two boxes and a one-second outage (its own PostgreSQL and broker)."""
    benchmark = harness.load("fleet_ingest")
    assert benchmark.long
    result = harness.run("fleet_ingest", benchmark, benchmark.smoke)
    assert {f.key for f in result.figures} == KEYS["fleet_ingest"]
    assert all(math.isfinite(f.value) for f in result.figures)


def test_locker_bench_prints_json_and_refuses_unknown_names(capsys) -> None:
    assert locker(["bench", "--json", "--smoke", "--only", "bulk_import", "--set", "rows=3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["machine"]["nproc"] >= 1
    assert printed["benchmarks"]["bulk_import"]["params"] == {"rows": 3}
    assert locker(["bench", "--only", "no_such_thing"]) == 2
    assert "no benchmark no_such_thing" in capsys.readouterr().err
    assert locker(["bench", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in KEYS)
    assert "fleet_ingest" in listed and "(long)" in listed
