"""``locker sim run SCENARIO``: a simulated period through the real controller, with a report.

::

    locker sim run week                      # 300 deliveries, faults, chart in week.png
    locker sim run my.toml --chart out.png   # keys of simulator.scenario_spec.ScenarioSpec
    locker sim run day --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sim_commands(subparsers).add_parser(
        "run", help="run a simulated period and report what happened"
    )
    run.add_argument("scenario", help="week, day, quiet-week, or a TOML file")
    run.add_argument("--chart", type=Path, help="occupancy chart PNG (default: SCENARIO.png)")
    run.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    run.add_argument("--json", action="store_true", help="print the report as one JSON object")
    run.set_defaults(func=cmd_run)


def sim_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The sub-command group of ``locker sim`` (made by simulator.cli, or here if absent)."""
    parser = subparsers.choices.get("sim") or subparsers.add_parser(
        "sim", help="simulated hardware"
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="sim", required=True, metavar="COMMAND")


def cmd_run(args: argparse.Namespace) -> int:
    from dataclasses import replace  # noqa: PLC0415

    from simulator.scenario import run_scenario  # noqa: PLC0415 - heavy imports on demand
    from simulator.scenario_spec import load_spec  # noqa: PLC0415

    try:
        spec = load_spec(args.scenario)
    except (ValueError, TypeError) as err:
        print(f"locker sim run: {err}", file=sys.stderr)
        return 2
    if args.seed is not None:
        spec = replace(spec, seed=args.seed)
    chart = args.chart or Path(f"{spec.name}.png")
    result = run_scenario(spec, chart=chart)
    print(json.dumps(result.as_dict(), indent=2) if args.json else result.report())
    return 0
