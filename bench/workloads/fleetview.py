"""W10: `tend fleet` over 1,000 hosts' shipped reports (`--evidence reports=DIR`, DIR/<host>/last_run.json).

The reports are tend's own: one real `tend apply` no-op of W1's 100 files (a typical host's ~100 resources),
its last_run.json copied per host with the host's name, run id, times and bundle (commit, signer,
converged_since, as a `tend run` writes them), and a realistic mix: staging on the new commit, prod on the
released one (5% of prod ahead of it), 2% failed (one resource failed), 5% with drift corrected, 2.5% stale
(last run 3 h ago), 1% with no report. The repository is signed and has a pipeline (staging, then prod) and
signed release tags, so RELEASED is judged: the tags are verified with gpg against --trusted-signer.

Baseline, in rotation: the same interpreter reading and parsing the same 1,000 reports as JSON and nothing else
(bench/floor.py's idea: the least any tool can do with this evidence). Target: <= 2.0x that floor. cf-agent and
puppet have no masterless fleet view to compare with (cf-hub and PuppetDB are servers that collect reports):
tend's extra cost over the floor is its start-up (W7: up to 1.5x a bare interpreter), reading the inventory and
pipeline, and the tags' gpg verification, all of which should weigh less than the reading itself.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import fileset, gitrepo, keyring
from bench.agents import FIRST, NOOP, Tend
from bench.fleet import host_names
from bench.measure import Result, Settings, ratio_goal
from bench.process import Contender, cache_dir, child_env, megabytes, rotate, run_child, tend_command

NAME = "W10 fleet"
FULL, QUICK = 1000, 20
TARGET = 2.0
RESOURCES, QUICK_RESOURCES = 100, 10
PIPELINE = "stages:\n  staging: {}\n  prod: {after: [staging]}\nevidence: {hosts: 100%, soak: 30m, stale_after: 65m}\n"
FLOOR = (
    "import json, pathlib, sys\n"
    "reports = [json.loads(p.read_text()) for p in pathlib.Path(sys.argv[1]).glob('*/last_run.json')]\n"
    "print(len(reports))\n"
)


def real_report(scratch: Path, env: dict[str, str], resources: int) -> dict[str, Any]:
    """The last_run.json of a no-op `tend apply` of `resources` files."""
    host = Tend(scratch / "host", env)
    host.prepare(fileset.make_files(resources))
    host.reset()
    host.run(FIRST)
    host.run(NOOP)
    return json.loads((scratch / "host/state/reports/last_run.json").read_text())


def make_repo(root: Path, keys: keyring.KeySet, hosts: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The signed repository: two commits, the old released to prod, the new to staging; returns both."""
    for folder in ("data", "manifests", "keys/admins"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "hiera.yaml").write_text(fileset.HIERA)
    (root / "data/common.yaml").write_text("classes: []\n")
    inventory = "".join(f"  {h}: {{role: {r}, environment: {e}}}\n" for h, (r, e) in hosts.items())
    (root / "keys/inventory.yaml").write_text(f"hosts:\n{inventory}admins: [ops]\n")
    (root / "keys/admins/ops.asc").write_bytes(keys.public["ops"])
    (root / "pipeline.yaml").write_text(PIPELINE)
    repo = gitrepo.Repo(root, keys)
    old = repo.commit("release 1")
    (root / "data/common.yaml").write_text("classes: []\nbench::motd: second\n")
    new = repo.commit("release 2")
    repo.tag("tend/staging/1", old)
    repo.tag("tend/prod/1", old)
    repo.tag("tend/staging/2", new)
    return old, new


def ship(directory: Path, template: dict[str, Any], hosts: dict[str, tuple[str, str]], commits: tuple[str, str],
         signer: str) -> None:  # fmt: skip
    """One report per host (but 1%), from `template`, in the mix the module's docstring gives."""
    now = datetime.now(UTC)
    old, new = commits
    for number, (host, (_, env)) in enumerate(sorted(hosts.items())):
        if number % 100 == 3:
            continue
        report = json.loads(json.dumps(template))
        finished = now - timedelta(minutes=number % 30, hours=3 if number % 40 == 2 else 0)
        commit = new if env == "staging" or number % 20 == 7 else old
        report.update(
            run_id=f"{1000 + number:08d}-{finished:%Y%m%dT%H%M%S}-{number:06x}", host=host,
            started=_iso(finished - timedelta(seconds=2)), finished=_iso(finished),
            bundle={"commit": commit, "signer": signer, "converged_since": _iso(finished - timedelta(hours=6))},
        )  # fmt: skip
        resources = report["resources"]
        if number % 50 == 5:
            resources[1].update(status="failed", error=f"{resources[1]['id']}: permission denied")
            report.update(status="failed", exit_code=4)
        elif number % 20 == 1:
            for entry in resources[1:4]:
                entry.update(status="changed", drift=True, changes=[{"attribute": "content"}])
            report.update(status="changed", exit_code=2)
        (directory / host).mkdir(parents=True)
        (directory / host / "last_run.json").write_text(json.dumps(report, separators=(",", ":")))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run(settings: Settings) -> list[Result]:
    count = QUICK if settings.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tend-bench-fleet-") as directory:
        scratch = Path(directory)
        cache = cache_dir(settings.quick, scratch)
        env = child_env(cache, {"TEND_FACTS_FILE": "/nonexistent", "TEND_FACTS_DIR": "/nonexistent"})
        keys = keyring.cached(cache, "watch", ["ops"])
        hosts = host_names(count)
        signer = gitrepo.fingerprint(keys, "ops")
        commits = make_repo(scratch / "repo", keys, hosts)
        reports = scratch / "reports"
        resources = QUICK_RESOURCES if settings.quick else RESOURCES
        ship(reports, real_report(scratch, env, resources), hosts, commits, signer)
        fleet = [
            *tend_command(), "fleet", "--repo", str(scratch / "repo"), f"--evidence=reports={reports}",
            "--trusted-signer", signer, "--gnupghome", str(keys.home),
        ]  # fmt: skip
        contenders = [
            Contender("fleet", lambda: run_child(fleet, env=env, expect=(1,))),  # 1: failed and stale hosts
            Contender("floor", lambda: run_child([sys.executable, "-c", FLOOR, str(reports)], env=env)),
        ]
        repeat, warmup = (1, 0) if settings.quick else (settings.repeat, settings.warmup)
        try:
            tend, floor = rotate(contenders, repeat=repeat, warmup=warmup)
        finally:
            keyring.stop_agent(keys.home)
        size = sum(p.stat().st_size for p in reports.glob("*/last_run.json"))
    goal = ratio_goal(f"{NAME}: <= {TARGET}x reading the reports alone", TARGET, tend.timing, floor.timing, "floor")
    note = f"{size / 2**20:.1f} MiB of reports ({resources} resources each); peak RSS {megabytes(tend.rss_kib)}"
    baseline = f"`{Path(sys.executable).name}` reading and parsing the same reports (json), nothing else"
    name = f"{len(hosts):,} hosts of shipped reports, RELEASED verified"
    return [Result(NAME, name, "time", 1, tend.timing, floor.timing, baseline, None, tend.rss_kib, note, (goal,))]


def describe(settings: Settings) -> str:
    count = QUICK if settings.quick else FULL
    return f"`tend fleet` over {count:,} hosts' last_run.json reports (a real report, copied per host)"
