"""W11: partial edits. `tend apply` of a `line` and an `ini` edit in each of 1,000 existing files (2,000
resources; bench/editset.py): a first run (every file edited) and a no-op run, against cf-agent doing the same
edits (`edit_line` with `replace_patterns`, the INI one in a `select_region`), in rotation.

Target: tend <= 1.0x cf-agent on both. The anchor is cf-agent's edit_line on the same files: it is the agent
tend already meets on whole files (W1), and an edit is a whole-file write once the new content is computed
(tend reads, edits and writes each file once for its two edits, as cf-agent's bundle does). Puppet's
`file_line`/`ini_setting` are not in puppet's core (puppetlabs-stdlib, -inifile; not packaged by Debian).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.agents import FIRST, NOOP
from bench.editset import Edits
from bench.measure import Result, Settings
from bench.process import cache_dir, child_env
from bench.workloads import peered

NAME = "W11 edits"
FULL, QUICK = 1000, 10
TARGET = 1.0


def run(settings: Settings) -> list[Result]:
    count = QUICK if settings.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tend-bench-edits-") as directory:
        scratch = Path(directory)
        env = child_env(cache_dir(settings.quick, scratch))
        contenders = peered.agents(scratch, env, settings, puppet=False)
        what = f"line + ini in {count:,} files"
        return peered.measure(NAME, what, Edits(count), (FIRST, NOOP), contenders, settings, target=TARGET)


def describe(settings: Settings) -> str:
    count = QUICK if settings.quick else FULL
    return f"a `line` and an `ini` edit in each of {count:,} files (first and no-op runs), tend and cf-agent"
