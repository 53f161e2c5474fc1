"""W7: start-up. `tend --version`, and `tend apply` of a repository whose data names no class (an empty
catalog: facts, hiera.yaml, the lock, state and report, and nothing to converge), against a bare
`python -c pass` of the same interpreter, in rotation. Targets: `tend --version` < 3x `python -c pass`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench import fileset
from bench.agents import EMPTY, Tend
from bench.measure import Result, Settings
from bench.process import Contender, cache_dir, child_env, megabytes, rotate, run_child, tend_command

NAME = "W7 start-up"
VERSION_TARGET = 3.0


def run(settings: Settings) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="tend-bench-startup-") as directory:
        scratch = Path(directory)
        env = child_env(cache_dir(settings.quick, scratch))
        empty = Tend(scratch / "empty", env)
        empty.prepare(None)
        empty.run(EMPTY)  # state and report folders made once, as on a host that has run before
        python = [sys.executable, "-c", "pass"]
        contenders = [
            Contender("version", lambda: run_child([*tend_command(), "--version"], env=env)),
            Contender("empty", lambda: empty.run(EMPTY)),
            Contender("python", lambda: run_child(python, env=env)),
        ]
        repeat = settings.repeat if not settings.quick else min(settings.repeat, 3)
        version, catalog, bare = rotate(contenders, repeat=max(repeat, 1) * 2, warmup=settings.warmup)
    ratio = version.timing.median / bare.timing.median
    verdict = "ok" if ratio < VERSION_TARGET else "MISSED"
    baseline_name = f"`{Path(sys.executable).name} -c pass` (the same interpreter)"
    return [
        Result(
            NAME, "tend --version", "time", 1, version.timing, bare.timing, baseline_name, None, version.rss_kib,
            f"target < {VERSION_TARGET:.0f}x: {verdict}; peak RSS {megabytes(version.rss_kib)}, "
            f"python -c pass {megabytes(bare.rss_kib)}",
        ),
        Result(
            NAME, f"tend apply, empty catalog (host {fileset.HOST})", "time", 1, catalog.timing, bare.timing,
            baseline_name, None, catalog.rss_kib, f"peak RSS {megabytes(catalog.rss_kib)}",
        ),
    ]  # fmt: skip


def describe(settings: Settings) -> str:
    return "`tend --version` and `tend apply` of an empty catalog against a bare interpreter start"
