"""W6: `tend secrets audit` of a fleet of 1,000 hosts and 500 encrypted values (bench/fleet.py).

Every host has its own real key; every value is encrypted to exactly its derived readers, so the audit compiles
1,000 catalogs, reads 1,000 public keys and the recipients of 500 messages, and exits 0 with no flag. The keys
(~1,000 gpg keys, about a minute to make) are cached across runs (bench/keyring.py); the repository is written
anew each run. Figure: the whole `tend secrets audit --repo` process (table output); target < 30 s.
Baseline, in rotation: `tend check --repo` on the same fleet (the same 1,000 compiles, no audit).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench import fleet, keyring
from bench.measure import Result, Settings
from bench.process import Contender, cache_dir, child_env, megabytes, rotate, run_child, tend_command

NAME = "W6 audit"
FULL, QUICK = (1000, 500), (10, 20)
TARGET_S = 30.0


def run(settings: Settings) -> list[Result]:
    hosts_count, values = QUICK if settings.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tend-bench-audit-") as directory:
        scratch = Path(directory)
        cache = cache_dir(settings.quick, scratch)
        env = child_env(cache)
        started = time.perf_counter()
        hosts = fleet.host_names(hosts_count)
        keys = keyring.cached(cache, f"fleet-{len(hosts)}", [*hosts, *fleet.ADMINS])
        try:
            made = fleet.make_fleet(scratch / "repo", keys, hosts, values)
        finally:
            keyring.stop_agent(keys.home)
        setup_s = time.perf_counter() - started
        repo = str(made.root)
        summary = f"{made.values} values, {len(hosts)} hosts, 0 problem(s)"

        def audit() -> object:
            sample = run_child([*tend_command(), "secrets", "audit", "--repo", repo], env=env, keep_output=True)
            if summary not in sample.output.splitlines()[-1]:
                raise AssertionError(f"W6: the audit ends {sample.output.splitlines()[-1]!r}, not {summary!r}")
            return sample

        contenders = [
            Contender("audit", audit),
            Contender("check", lambda: run_child([*tend_command(), "check", "--repo", repo], env=env)),
        ]
        repeat, warmup = (min(settings.repeat, 2), 0) if settings.quick else (settings.repeat, settings.warmup)
        tend, baseline = rotate(contenders, repeat=repeat, warmup=warmup)
    verdict = "ok" if tend.timing.median < TARGET_S else "MISSED"
    note = (
        f"target < {TARGET_S:.0f} s: {verdict}; peak RSS {megabytes(tend.rss_kib)}; "
        f"{len(made.files)} data files; setup {setup_s:.1f} s (keys cached under {cache / 'keys'})"
    )
    name = f"secrets audit, {len(hosts):,} hosts x {made.values} values"
    baseline_name = "tend check --repo (the same compiles, no audit)"
    return [Result(NAME, name, "time", 1, tend.timing, baseline.timing, baseline_name, None, tend.rss_kib, note)]


def describe(settings: Settings) -> str:
    hosts, values = QUICK if settings.quick else FULL
    return f"`tend secrets audit` of {hosts:,} hosts (each its own key) and {values} encrypted values"
