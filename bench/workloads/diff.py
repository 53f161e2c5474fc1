"""W9: `tend diff` over a 100-host inventory: HEAD against a work tree that adds a file to the `web` role and
changes the `db` role's template (40 of the 100 hosts change). The repository is W6's fleet (bench/fleet.py:
5 roles x 2 environments, encrypted values, which a diff shows as placeholders) plus a `site` class of 30
resources on every host (files from facts, `line` and `ini` edits). Figures: a first run with an empty cache
(`--cache-dir` in a temp folder, emptied before each run) and a second run with the cache it left.

Baseline, in rotation: `tend check --repo` on the same work tree, which compiles each host once, one after the
other. Targets: the first run <= 1.5x `tend check`: it compiles each host twice (both revisions) on every core,
so with 2 cores it does `check`'s work per core, plus the pool's start and the cache writes; the second run <=
0.25x the first: the cache must spare at least three quarters of a diff, all compiles. Puppet has no such
command in its core: octocatalog-diff compiles each node at both revisions with a whole puppet compile (seconds
each here: see W7's empty puppet run in BENCHMARKS.md), which would take minutes for 100 hosts.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench import fleet, gitrepo, keyring
from bench.measure import Goal, Result, Settings, ratio_goal
from bench.process import Contender, cache_dir, child_env, megabytes, rotate, run_child, tend_command

NAME = "W9 diff"
FULL, QUICK = (100, 100), (10, 20)  # hosts, encrypted values
FIRST_TARGET, SECOND_TARGET = 1.5, 0.25
SITE_FILES, SITE_EDITS = 20, 5


def site_class() -> str:
    """30 resources on every host: files rendered from facts, then `line` and `ini` edits of two of them."""
    files = "".join(
        f"  - file: /etc/site/conf.d/{n:02d}.conf\n"
        f'    content: "# {n:02d} for {{{{ facts.hostname }}}} ({{{{ facts.role }}}}, '
        f'{{{{ facts.environment }}}})\\nworkers = {n + 2}\\n"\n    mode: "0644"\n'
        for n in range(SITE_FILES)
    )
    lines = "".join(
        f"  - line: limit {n} of {{{{ facts.hostname }}}}\n    path: /etc/site/limits.conf\n"
        f'    text: "limit{n} = {n * 64}"\n    match: "^limit{n} ="\n'
        for n in range(SITE_EDITS)
    )
    ini = "".join(
        f"  - ini: option {n}\n    path: /etc/site/app.ini\n    section: main\n    setting: option{n}\n"
        f'    value: "{{{{ facts.environment }}}}-{n}"\n'
        for n in range(SITE_EDITS)
    )
    head = "  - file: /etc/site\n    ensure: directory\n  - file: /etc/site/conf.d\n    ensure: directory\n"
    return "resources:\n" + head + files + lines + ini


def make_repo(root: Path, keys: keyring.KeySet, hosts: dict[str, tuple[str, str]], values: int) -> None:
    """The fleet and the site class, committed; then the change, left in the work tree."""
    fleet.make_fleet(root, keys, hosts, values)
    common = root / "hieradata/common.yaml"
    common.write_text(common.read_text().replace("classes: [base]", "classes: [base, site]", 1))
    (root / "manifests/site.yaml").write_text(site_class())
    gitrepo.Repo(root).commit("fleet")
    web = root / "manifests/web.yaml"
    web.write_text(web.read_text() + '  - file: /etc/bench-web.d/extra.conf\n    content: "added\\n"\n')
    template = root / "templates/bench/db.conf.j2"
    template.write_text("# db settings, reviewed\n" + template.read_text())


def run(settings: Settings) -> list[Result]:
    count, values = QUICK if settings.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tend-bench-diff-") as directory:
        scratch = Path(directory)
        cache = cache_dir(settings.quick, scratch)
        env = child_env(cache)
        hosts = fleet.host_names(count)
        keys = keyring.cached(cache, f"fleet-{len(hosts)}", [*hosts, *fleet.ADMINS])
        try:
            make_repo(scratch / "repo", keys, hosts, values)
        finally:
            keyring.stop_agent(keys.home)
        repo = ["--repo", str(scratch / "repo")]
        cold, warm = scratch / "cold", scratch / "warm"

        def diff(catalogs: Path) -> list[str]:
            return [*tend_command(), "diff", *repo, "--cache-dir", str(catalogs)]

        run_child(diff(warm), env=env, expect=(2,))  # the second run's cache, filled once (untimed)
        contenders = [
            Contender("first", lambda: run_child(diff(cold), env=env, expect=(2,)), setup=lambda: _empty(cold)),
            Contender("second", lambda: run_child(diff(warm), env=env, expect=(2,))),
            Contender("check", lambda: run_child([*tend_command(), "check", *repo], env=env)),
        ]
        repeat, warmup = (1, 0) if settings.quick else (settings.repeat, settings.warmup)
        first, second, check = rotate(contenders, repeat=repeat, warmup=warmup)
    what = f"{len(hosts):,} hosts, HEAD against the work tree"
    first_goal = ratio_goal(f"{NAME} first run: <= {FIRST_TARGET}x `tend check`", FIRST_TARGET, first.timing,
                            check.timing, "tend check")  # fmt: skip
    second_goal = ratio_goal(f"{NAME} second run: <= {SECOND_TARGET}x the first run", SECOND_TARGET,
                             second.timing, first.timing, "the first run")  # fmt: skip
    rss = f"peak RSS first {megabytes(first.rss_kib)}, second {megabytes(second.rss_kib)}"
    return [
        _result(f"{what}, first run (empty cache)", first, check, "tend check --repo (each host compiled once)",
                rss, first_goal),
        _result(f"{what}, second run (cache)", second, first, "the first run (empty cache)", rss, second_goal),
    ]  # fmt: skip


def _result(name: str, tend: Contender, base: Contender, base_name: str, note: str, goal: Goal) -> Result:
    return Result(NAME, name, "time", 1, tend.timing, base.timing, base_name, None, tend.rss_kib, note, (goal,))


def _empty(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def describe(settings: Settings) -> str:
    count = (QUICK if settings.quick else FULL)[0]
    return f"`tend diff` of a change to 40% of {count} hosts: with an empty cache, then with its cache"
