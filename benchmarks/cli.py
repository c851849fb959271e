"""``locker bench [--json] [--only NAME …]``: every benchmark of ``benchmarks/``, one table.

Loaded only when ``bench`` is invoked (``kiosk/cli.py:LAZY_GROUPS``). The benchmarks are the
modules of this package that define a ``BENCHMARK`` (:mod:`benchmarks.harness` says how to add
one); ``--list`` names them, ``--set samples=20`` changes a size for the ones that take it.
"""

from __future__ import annotations

import argparse
import sys

from benchmarks import harness


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser("bench", help="run the benchmarks on the simulator")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    bench.add_argument("--all", action="store_true", help="also the long ones (the fleet)")
    bench.add_argument("--list", action="store_true", help="name every benchmark and stop")
    bench.add_argument(
        "--smoke", action="store_true", help="tiny sizes: do the figures come out at all?"
    )
    bench.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a size for every benchmark that takes KEY (e.g. samples=20)",
    )
    bench.set_defaults(func=cmd_bench)


def parse_sets(pairs: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            found[key.strip()] = int(value) if value.strip().isdigit() else float(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise SystemExit(f"locker bench: --set wants KEY=NUMBER, not {pair!r}")
    return found


def cmd_bench(args: argparse.Namespace) -> int:
    every = harness.names()
    if args.list:
        for name in every:
            benchmark = harness.load(name)
            print(f"{name:<20}{benchmark.title}{'  (long)' if benchmark.long else ''}")
        return 0
    unknown = sorted(set(args.only or []) - set(every))
    if unknown:
        print(f"locker bench: no benchmark {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    sets = parse_sets(args.set)
    results, skipped = [], []
    if not args.json:
        print(harness.header(), flush=True)
    for name in args.only or every:
        benchmark = harness.load(name)
        if benchmark.long and not (args.all or args.only):
            skipped.append(name)
            continue
        base = dict(benchmark.smoke) if args.smoke else {}
        params = base | {k: v for k, v in sets.items() if k in benchmark.full}
        results.append(harness.run(name, benchmark, params))
        if not args.json:
            print("\n" + harness.block(results[-1]), flush=True)
    if args.json:
        print(harness.as_json(results))
    elif skipped:
        print(f"\nnot run (long; --all or --only): {', '.join(skipped)}")
    return 0
