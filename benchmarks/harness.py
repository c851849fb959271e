"""The one harness of every benchmark: statistics, process figures, a uniform result, JSON.

``locker bench`` (:mod:`benchmarks.cli`) runs every module of this package that defines a
``BENCHMARK``; ``--only NAME`` runs one by its module name. Nothing here is pass/fail: a
figure may carry a :class:`Target`, and the table says beside it whether it was met.

How to add a figure
-------------------
1. Write ``benchmarks/<name>.py`` (the module's name is the benchmark's name)::

       from benchmarks.harness import Benchmark, Figure, latency_figures

       def run(samples: int) -> list[Figure]:
           timings = [...]  # seconds, one per sample, measured however the figure needs
           return latency_figures("lag", "event -> received", timings, target_p99_ms=1000)

       BENCHMARK = Benchmark(
           title="what is measured, in a line",
           run=run,
           full={"samples": 200},  # what `locker bench` runs
           smoke={"samples": 1},  # what tests/benchmarks/test_smoke.py runs: minimal sizes
       )

2. Give the code under test what it needs as a parameter (a limiter, a poll interval, a
   clock); never patch a module's globals or call its private names from here.
3. A figure of a process of its own (CPU, RSS, start-up) drives ``locker serve`` through
   :mod:`benchmarks.served` and reads it with :func:`cpu_seconds` and :func:`rss_mb`.
4. ``tests/benchmarks/test_smoke.py`` runs it with ``smoke`` and checks the figures' keys and
   types; quote the figures in docs/performance.md with the machine and its load.

A benchmark that takes many minutes or needs services (the fleet) sets ``long=True``: it runs
only when named (``--only``) or with ``--all``.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pkgutil
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
NOT_BENCHMARKS = frozenset({"cli", "harness", "served"})


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Target:
    """A budget a figure is compared with: ``value <= limit`` (or ``>=`` with ``at_least``)."""

    limit: float
    at_least: bool = False

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.limit:g}"


@dataclass(frozen=True)
class Figure:
    """One measured number: ``key`` (unique within its benchmark), value, unit, what it is."""

    key: str
    value: float
    unit: str
    label: str
    target: Target | None = None

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.value)


@dataclass(frozen=True)
class Benchmark:
    """What a benchmark module exports as ``BENCHMARK``: ``run(**params)`` gives its figures."""

    title: str
    run: Callable[..., list[Figure]]
    full: Mapping[str, float] = field(default_factory=dict)
    smoke: Mapping[str, float] = field(default_factory=dict)
    long: bool = False


@dataclass(frozen=True)
class Result:
    """One benchmark's run: its figures, the parameters, how long it took, the machine's load."""

    name: str
    title: str
    params: Mapping[str, float]
    figures: list[Figure]
    wall_s: float
    load_before: list[float]
    load_after: list[float]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["figures"] = {
            f.key: {
                "value": f.value,
                "unit": f.unit,
                "label": f.label,
                **({"target": str(f.target), "met": f.met} if f.target else {}),
            }
            for f in self.figures
        }
        return found


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Percentiles:
    """Of durations in seconds, in milliseconds: median, p99 (nearest rank) and the maximum."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int


def percentiles(seconds: Sequence[float]) -> Percentiles:
    """The one percentile function of the benchmarks (p99 by nearest rank: a real sample)."""
    if not seconds:
        raise ValueError("no samples")
    ordered = sorted(seconds)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    return Percentiles(
        statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000, len(ordered)
    )


def latency_figures(
    key: str,
    label: str,
    seconds: Sequence[float],
    *,
    floor_ms: float | None = None,
    target_p99_ms: float | None = None,
    target_p99_floors: float | None = None,
) -> list[Figure]:
    """``<key>_p50_ms`` and ``<key>_p99_ms`` (and ``<key>_floor_ms``, ``<key>_p99_floors``
    when a floor is given: the p99 in multiples of it, with its target if any)."""
    found = percentiles(seconds)
    figures = [
        Figure(f"{key}_p50_ms", found.p50_ms, "ms", f"{label}, p50"),
        Figure(
            f"{key}_p99_ms",
            found.p99_ms,
            "ms",
            f"{label}, p99 of {found.samples}",
            Target(target_p99_ms) if target_p99_ms is not None else None,
        ),
    ]
    if floor_ms is not None:
        figures += [
            Figure(f"{key}_floor_ms", floor_ms, "ms", f"{label}, floor"),
            Figure(
                f"{key}_p99_floors",
                found.p99_ms / floor_ms,
                "x",
                f"{label}, p99 / floor",
                Target(target_p99_floors) if target_p99_floors is not None else None,
            ),
        ]
    return figures


def timed(work: Callable[[], object], samples: int) -> list[float]:
    """Seconds each of ``samples`` calls of ``work`` took (``time.perf_counter``)."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return timings


# --------------------------------------------------------------------------- processes


def _stat_fields(pid: int) -> list[str]:
    stat = (Path("/proc") / str(pid) / "stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) a process has used so far, in seconds (this one by default)."""
    fields = _stat_fields(pid or os.getpid())
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int | None = None, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB (this one by default): ``VmRSS``, or its part
    ``RssAnon`` (the process's own) or ``RssFile`` (mapped files: shared libraries)."""
    status = (Path("/proc") / str(pid or os.getpid()) / "status").read_text()
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue
    return found


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("model name", "Model")):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


# --------------------------------------------------------------------------- running


def names() -> list[str]:
    """Every benchmark module of this package, by name (nothing is imported)."""
    import benchmarks  # noqa: PLC0415

    return sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name not in NOT_BENCHMARKS and not info.name.startswith("_")
    )


def load(name: str) -> Benchmark:
    if name not in names():
        raise KeyError(f"no benchmark {name!r}; there are: {', '.join(names())}")
    found = importlib.import_module(f"benchmarks.{name}").BENCHMARK
    assert isinstance(found, Benchmark), f"benchmarks.{name}.BENCHMARK is no Benchmark"
    return found


def run(name: str, benchmark: Benchmark, params: Mapping[str, float]) -> Result:
    """Run one benchmark with ``params`` (its ``full`` sizes, overridden by ``params``)."""
    wanted = {**benchmark.full, **params}
    load_before = load_average()
    started = time.monotonic()
    figures = benchmark.run(**wanted)
    wall = time.monotonic() - started
    keys = [f.key for f in figures]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"{name}: a figure key appears twice: {keys}")
    return Result(name, benchmark.title, wanted, figures, wall, load_before, load_average())


def as_json(results: Iterable[Result]) -> str:
    return json.dumps(
        {"machine": machine(), "benchmarks": {r.name: r.as_dict() for r in results}}, indent=2
    )


def header() -> str:
    m = machine()
    return f"locker bench on {m['cpu']} ({m['nproc']} CPUs), Python {m['python']}"


def block(result: Result) -> str:
    """The human form of one result: one line per figure, its target and whether it was met."""
    load = " ".join(f"{x:.1f}" for x in result.load_after)
    lines = [f"{result.name}: {result.title}  [{result.wall_s:.1f} s, load {load}]"]
    for f in result.figures:
        verdict = ""
        if f.target is not None:
            verdict = f"  (target {f.target} {f.unit}: {'met' if f.met else 'MISSED'})"
        lines.append(f"  {f.label:<58}{_number(f.value):>10} {f.unit}{verdict}")
    return "\n".join(lines)


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
