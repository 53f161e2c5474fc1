"""W7: start-up. `tend --version`, and `tend apply` of a repository whose data names no class (an empty
catalog: facts, hiera.yaml, the lock, state and report, and nothing to converge), against a bare
`python -c pass` of the same interpreter, in rotation. Also `tend --version` on Debian's /usr/bin/python3, as
the .deb runs it (its modules first on sys.path), against that interpreter's bare start. Target: `tend
--version` <= 1.5x `python -c pass` on both. The empty catalog's target (<= 2x cf-agent) is in bench.peers.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench import fileset
from bench.agents import EMPTY, Tend
from bench.measure import Result, Settings, ratio_goal
from bench.process import Contender, cache_dir, child_env, megabytes, rotate, run_child, tend_command

NAME = "W7 start-up"
VERSION_TARGET = 1.5
DEBIAN_PYTHON = "/usr/bin/python3"
PROJECT = Path(__file__).resolve().parents[2]
# What packaging/bin/tend does, with this checkout in the place of /usr/share/tend.
DEBIAN_SCRIPT = f"import sys; sys.path.insert(0, {str(PROJECT)!r}); from agent.cli.main import main; sys.exit(main())"


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
        debian = os.access(DEBIAN_PYTHON, os.X_OK)
        if debian:
            contenders += [
                Contender("deb version", lambda: run_child([DEBIAN_PYTHON, "-c", DEBIAN_SCRIPT, "--version"], env=env)),
                Contender("deb python", lambda: run_child([DEBIAN_PYTHON, "-c", "pass"], env=env)),
            ]
        repeat, warmup = (2, 0) if settings.quick else (settings.repeat * 2, settings.warmup)
        version, catalog, bare, *deb = rotate(contenders, repeat=repeat, warmup=warmup)
    baseline_name = f"`{Path(sys.executable).name} -c pass` (the same interpreter)"
    results = [_version("tend --version", version, bare, baseline_name)]
    if deb:
        results.append(_version(f"tend --version on {DEBIAN_PYTHON}", deb[0], deb[1], f"`{DEBIAN_PYTHON} -c pass`"))
    return [
        *results,
        Result(
            NAME, f"tend apply, empty catalog (host {fileset.HOST})", "time", 1, catalog.timing, bare.timing,
            baseline_name, None, catalog.rss_kib, f"peak RSS {megabytes(catalog.rss_kib)}",
        ),
    ]  # fmt: skip


def _version(name: str, version: Contender, bare: Contender, baseline_name: str) -> Result:
    goal = ratio_goal(f"{NAME} `{name}` <= {VERSION_TARGET}x {baseline_name}", VERSION_TARGET, version.timing,
                      bare.timing, baseline_name)  # fmt: skip
    note = f"peak RSS {megabytes(version.rss_kib)}, python -c pass {megabytes(bare.rss_kib)}"
    return Result(
        NAME, name, "time", 1, version.timing, bare.timing, baseline_name, None, version.rss_kib, note, (goal,)
    )


def describe(settings: Settings) -> str:
    return "`tend --version` and `tend apply` of an empty catalog against a bare interpreter start"
