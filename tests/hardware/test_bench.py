"""The hardware benchmark runs, and the simulator really enforces wire time."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_hardware.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_hardware", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_runs_and_no_figure_beats_its_floor() -> None:
    bench = load()
    result = bench.run(samples=4)
    assert result["unlock"]["p50_ms"] >= result["unlock"]["floor_ms"] * 0.99
    assert [sweep["boards"] for sweep in result["sweep"]] == [1, 4, 16]
    for sweep in result["sweep"]:
        assert sweep["p50_ms"] >= sweep["floor_ms"] * 0.99
        assert sweep["ratio_p50"] < 3
    assert "sweep, 16 CU16 board(s)" in bench.table(result)
