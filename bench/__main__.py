"""`python -m bench [--quick] [--json FILE] [WORKLOAD ...]`: run the micro-benchmarks and print a table.

Each workload is a module named in WORKLOADS with `run(settings) -> list[Result]` and `describe(settings) -> str`.
Absolute figures vary between machines; each comes with a ratio against a baseline measured in the same run
(tend's median time over the baseline's), which varies much less. Targets (a least rate, or the goals a workload
judges on its own figures) are printed after the table; `--check` exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import agent
from bench.measure import Result, Settings, peak_rss_kib

WORKLOADS: dict[str, str] = {
    "lookup": "bench.workloads.lookup",
    "packages": "bench.workloads.packages",
    "files": "bench.workloads.files",
    "secrets": "bench.workloads.secrets",
    "audit": "bench.workloads.audit",
    "startup": "bench.workloads.startup",
    "watch": "bench.workloads.watch",
    "diff": "bench.workloads.diff",
    "fleet": "bench.workloads.fleetview",
    "edits": "bench.workloads.edits",
    "tree": "bench.workloads.tree",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="WORKLOAD", help=f"run only these: {', '.join(WORKLOADS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test (a few seconds)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")
    parser.add_argument("--repeat", type=int, default=5, help="measured repetitions per figure (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured repetitions first (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data and samples (default 0)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its target")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write BENCHMARKS.md-style text to FILE")
    parser.add_argument("--peers", type=Path, metavar="FILE", help="with --markdown: a bench.peers --json report")
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r} (there are: {', '.join(WORKLOADS)})")
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    settings = Settings(quick=args.quick, repeat=args.repeat, warmup=args.warmup, seed=args.seed)

    mode = "quick (smoke test: sizes too small for the targets to mean much)" if args.quick else "full"
    python = f"Python {platform.python_version()} on {platform.machine()}"
    repetitions = f"median of {settings.repeat} after {settings.warmup} warm-up"
    print(f"tend {agent.__version__} micro-benchmarks, {mode}; {repetitions}; {python}")
    results: list[Result] = []
    descriptions: dict[str, str] = {}
    started = time.perf_counter()
    for name in args.workloads or list(WORKLOADS):
        module = importlib.import_module(WORKLOADS[name])
        descriptions[name] = module.describe(settings)
        print(f"  {name}: {descriptions[name]}", flush=True)
        began = time.perf_counter()
        results.extend(module.run(settings))
        print(f"    ({time.perf_counter() - began:.1f} s)", flush=True)
    elapsed = time.perf_counter() - started

    print()
    print(table(results))
    print(f"\npeak RSS {peak_rss_kib() / 1024:.1f} MiB; {elapsed:.1f} s")
    missed = [r for r in results if r.met is False]
    for result in missed:
        figure = f"{result.figures(result.timing)[0]:,.0f} {result.unit}"
        print(f"MISSED: {result.workload}: {result.name}: {figure} < {result.target:,.0f}")
    goals = [goal for result in results for goal in result.goals]
    if goals:
        print("\ntargets:")
    for goal in goals:
        cause = f" ({goal.cause})" if goal.cause and goal.met is not True else ""
        print(f"  {goal.verdict}: {goal.target}: {goal.measured}{cause}")
    missed_goals = [goal for goal in goals if goal.met is False]
    suite = report(settings, descriptions, results, elapsed)
    if args.json:
        args.json.write_text(json.dumps(suite, indent=2) + "\n")
    if args.markdown:
        from bench.markdown import render

        peers = json.loads(args.peers.read_text()) if args.peers and args.peers.is_file() else None
        previous = args.markdown if args.markdown.is_file() else None
        args.markdown.write_text(render(peers, suite, previous))
    return 1 if args.check and (missed or missed_goals) else 0


def table(results: list[Result]) -> str:
    header = ("figure", "median", "min", "max", "unit", "baseline", "ratio", "target")
    rows: list[tuple[str, ...]] = [header]
    for result in results:
        median, worst, best = result.figures(result.timing)
        low, high = min(worst, best), max(worst, best)
        base = result.figures(result.baseline)[0]
        target = "" if result.target is None else f">= {result.target:,.0f} " + ("ok" if result.met else "MISSED")
        rows.append(
            (
                f"{result.workload}: {result.name}",
                _number(median),
                _number(low),
                _number(high),
                result.unit,
                _number(base),
                f"{result.ratio:,.1f}x" if result.ratio >= 10 else f"{result.ratio:.2f}x",
                target,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        numbers = (cell.rjust(width) for cell, width in zip(row[1:7], widths[1:7], strict=True))
        cells = [row[0].ljust(widths[0]), *numbers]
        lines.append("  ".join([*cells, row[7]]).rstrip())
        if number == 0:
            lines.append("-" * len(lines[0]))
    notes = [
        f"  {r.unit} figures: baseline = {r.baseline_name}"
        if r.kind == "rate" and not r.note
        else f"  {r.name}: baseline = {r.baseline_name}" + (f"; {r.note}" if r.note else "")
        for r in results
    ]
    legend = "ratio = tend's median time / the baseline's median time (the same work, in the same run)"
    return "\n".join([*lines, "", legend, *dict.fromkeys(notes)])


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def report(settings: Settings, descriptions: dict[str, str], results: list[Result], elapsed: float) -> dict[str, Any]:
    return {
        "tend_version": agent.__version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "settings": {
            "quick": settings.quick,
            "repeat": settings.repeat,
            "warmup": settings.warmup,
            "seed": settings.seed,
        },
        "workloads": descriptions,
        "results": [result.to_json() for result in results],
        "peak_rss_kib": peak_rss_kib(),
        "elapsed_s": elapsed,
    }


if __name__ == "__main__":
    sys.exit(main())
