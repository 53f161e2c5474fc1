"""W12: a directory from a `source:` of 1,000 files (in 10 subdirectories) with `purge: true` (bench/treeset.py):
a first run (every file copied), a no-op run, and a purge run (100 strays left by hand, removed), against
cf-agent (`copy_from` a local folder, `purge`, `depth_search`) and puppet (recursive `file` with `source` and
`purge`), in rotation.

Target: tend <= 1.0x cf-agent in each run. The anchor is the same tree converged by cf-agent, the C agent tend
meets on literal files (W1); puppet's recursive `file` (the issue's example anchor) is measured beside it when
installed, in full mode. tend expands the source at compile time into one `file` per entry, so each run costs
about what W1 costs for as many files, plus the walk for strays.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.agents import FIRST, NOOP, PURGE
from bench.measure import Result, Settings
from bench.process import cache_dir, child_env
from bench.treeset import Tree
from bench.workloads import peered

NAME = "W12 purge"
FULL, QUICK = 1000, 10
TARGET = 1.0


def run(settings: Settings) -> list[Result]:
    count = QUICK if settings.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tend-bench-tree-") as directory:
        scratch = Path(directory)
        env = child_env(cache_dir(settings.quick, scratch))
        contenders = peered.agents(scratch, env, settings, puppet=True)
        tree = Tree(count, scratch / "source", settings.seed)
        what = f"source: of {count:,} files, purge: true"
        scenarios = (FIRST, PURGE) if settings.quick else (FIRST, NOOP, PURGE)  # quick: the no-op is W1's path
        return peered.measure(NAME, what, tree, scenarios, contenders, settings, target=TARGET)


def describe(settings: Settings) -> str:
    count = QUICK if settings.quick else FULL
    return f"a `source:` directory of {count:,} files with purge (first, no-op, purge runs), tend and its peers"
