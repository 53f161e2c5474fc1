"""The agent side of the pipeline, on several simulated hosts of one machine (§5, §8.2 to §8.4).

Each host has its own agent.yaml (its stage as the `environment` fact, its inventory name as `hostname`,
its output folder as `out`), its own --state-dir and metrics file; they all pull one signed origin with
real signed release tags. `tend run` has no --root, so the manifest writes under each host's `out`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_tend
from tests.integration.pipeline.conftest import HIERA, Repo, _short_home, kill_gpg_agents

pytestmark = pytest.mark.usefixtures("keys")

PIPELINE = "stages:\n  dev: {}\n  staging: {after: [dev]}\n  prod: {after: [staging]}\n"
INVENTORY = """\
hosts:
  dev1: {environment: dev}
  stg1: {environment: staging}
  prod1: {environment: prod}
admins: [ops]
"""


def site(repo: Repo, motd: str, *, attribute: str = "content", extra: str = "") -> dict[str, str]:
    """A control repo whose one class writes OUT/motd on each host; `attribute` misspelt fails the schema."""
    manifest = f"""\
resources:
  - file: "{{{{ facts.out }}}}/motd"
    {attribute}: {json.dumps(motd)}
{extra}checks:
  - command: [/bin/true]
"""
    return {
        "hiera.yaml": HIERA,
        "data/common.yaml": "classes: [motd]\n",
        "manifests/motd.yaml": manifest,
        "keys/inventory.yaml": INVENTORY,
        "keys/admins/ops.asc": repo.keys.ops.public,
        "pipeline.yaml": PIPELINE,
    }


class Host:
    """One simulated host: agent.yaml, state directory, output folder and metrics textfile of its own."""

    def __init__(self, name: str, stage: str, repo: Repo, base: Path, state: Path, rollback_on: str = ""):
        self.name, self.state, self.out = name, state, base / name / "out"
        self.out.mkdir(parents=True)
        self.metrics = base / name / "tend.prom"
        self.config = base / name / "agent.yaml"
        self.config.write_text(
            f"source: {{git: {repo.path}, branch: main, trusted_signers: [{repo.keys.ops.fingerprint}]}}\n"
            f"facts: {{environment: {stage}, hostname: {name}, out: {self.out}}}\n"
            f"metrics_file: {self.metrics}\n{rollback_on}"
        )

    def tend(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run_tend([command, "--config", str(self.config), "--state-dir", str(self.state), *args])

    def run(self) -> tuple[int, dict[str, Any], str]:
        done = self.tend("run", "--json")
        return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr

    def current(self) -> str | None:
        link = self.state / "bundles" / "current"
        return link.readlink().name if link.is_symlink() else None

    def metric(self, name: str) -> dict[str, str]:
        """Each sample of metric family `name`: its labels as text → its value."""
        return dict(re.findall(rf"^{name}\{{(.*)\}} (\S+)$", self.metrics.read_text(), re.M))

    @property
    def motd(self) -> str:
        return (self.out / "motd").read_text()


@pytest.fixture
def hosts(repo: Repo, tmp_path: Path) -> Iterator[dict[str, Host]]:
    states = {name: _short_home(f"ta-{name}-") for name in ("dev1", "stg1", "prod1", "qa1")}
    stages = {"dev1": "dev", "stg1": "staging", "prod1": "prod", "qa1": "qa"}
    try:
        yield {name: Host(name, stages[name], repo, tmp_path, states[name]) for name in states}
    finally:
        for state in states.values():
            kill_gpg_agents(state / "gnupg")
            shutil.rmtree(state, ignore_errors=True)


def test_a_compile_failing_commit_is_refused_while_the_last_good_bundle_keeps_converging(repo, hosts):
    dev = hosts["dev1"]
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    code, _, stderr = dev.run()
    assert code == 0, stderr
    bad = repo.commit("typo", repo.keys.ops, site(repo, "bad\n", attribute="contnet"))
    (dev.out / "motd").write_text("by hand\n")

    code, report, stderr = dev.run()
    assert code == 0, stderr  # the host is healthy; the commit is not
    assert "warning" in stderr and f"after {bad[:12]}: rolling back to {good[:12]}" in stderr
    assert dev.current() == good and dev.motd == "good\n"
    assert report["bundle"]["commit"] == good
    refused = report["bundle"]["refused"]
    assert refused["commit"] == bad and "manifests/motd.yaml:3" in refused["reason"] and "contnet" in refused["reason"]
    assert dev.metric("tend_bundle_refused") == {f'host="dev1",commit="{bad}"': "1"}

    (dev.out / "motd").write_text("by hand again\n")
    code, report, stderr = dev.run()  # the bad tip is refused at the pull now, every run
    assert code == 0, stderr
    assert dev.motd == "good\n" and report["bundle"]["refused"]["commit"] == bad
    assert dev.metric("tend_bundle_refused") == {f'host="dev1",commit="{bad}"': "1"}
    pulled = dev.tend("pull")  # alone, pull still fails on a refusal
    assert pulled.returncode == 1 and f"refusing commit {bad[:12]}" in pulled.stderr

    fixed = repo.commit("fixed", repo.keys.ops, site(repo, "fixed\n"))
    code, report, stderr = dev.run()
    assert code == 0, stderr
    assert dev.current() == fixed and dev.motd == "fixed\n" and "refused" not in report["bundle"]
    assert dev.metric("tend_bundle_refused") == {}


def test_private_keys_and_an_invalid_pipeline_are_commit_faults(repo, hosts):
    dev = hosts["dev1"]
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    broken = repo.commit("cycle", repo.keys.ops, {"pipeline.yaml": "stages:\n  dev: {after: [dev]}\n"})
    code, report, stderr = dev.run()
    assert code == 0, stderr
    assert report["bundle"]["refused"]["commit"] == broken
    assert "pipeline.yaml:2" in report["bundle"]["refused"]["reason"]
    assert dev.current() == good


def test_stages_deploy_only_in_order_and_only_on_trusted_tags(repo, hosts):
    ops, eve = repo.keys.ops, repo.keys.eve
    dev, stg, prod = hosts["dev1"], hosts["stg1"], hosts["prod1"]
    one = repo.commit("one", ops, site(repo, "one\n"))
    assert dev.run()[0] == 0 and dev.current() == one  # a first stage follows the branch tip
    code, _, stderr = stg.run()
    assert code == 1 and "no trusted release of staging yet" in stderr and stg.current() is None

    repo.tag("tend/staging/1", one, ops)
    code, report, stderr = stg.run()
    assert code == 0, stderr
    assert stg.current() == one and stg.motd == "one\n"
    assert stg.metric("tend_bundle_info") == {
        f'host="stg1",commit="{one}",signer="{ops.fingerprint}",stage="staging"': "1"
    }
    repo.tag("tend/prod/1", one, ops)
    assert prod.run()[0] == 0 and prod.current() == one

    two = repo.commit("two", ops, site(repo, "two\n"))
    repo.tag("tend/prod/2", two, ops)  # signed and trusted, but two never went through staging
    code, report, stderr = prod.run()
    assert code == 0, stderr
    assert prod.current() == one and prod.motd == "one\n"
    assert report["bundle"]["refused"] == {
        "commit": two, "reason": f"refusing commit {two[:12]} for now: {two[:12]} was never released to staging"
    }  # fmt: skip
    assert "never released to staging" in stderr

    repo.tag("tend/staging/2", two, eve)  # eve's key is in no trusted_signers: ignored entirely
    repo.tag("tend/staging/3", two, None)  # unsigned: ignored
    assert stg.run()[0] == 0 and stg.current() == one
    assert prod.run()[0] == 0 and prod.current() == one

    repo.tag("tend/staging/4", two, ops)  # looked at again on every run: not marked bad
    assert stg.run()[0] == 0 and stg.current() == two
    code, report, stderr = prod.run()
    assert code == 0, stderr
    assert prod.current() == two and prod.motd == "two\n" and "refused" not in report["bundle"]


def test_a_host_in_no_stage_refuses_to_deploy(repo, hosts):
    repo.commit("one", repo.keys.ops, site(repo, "one\n"))
    qa = hosts["qa1"]
    code, _, stderr = qa.run()
    assert code == 1 and "environment 'qa' is no stage of pipeline.yaml (stages: dev, staging, prod)" in stderr
    assert qa.current() is None and not (qa.out / "motd").exists()


def test_rollback_on_failures_sends_a_failing_commit_back(repo, hosts):
    dev = hosts["dev1"]
    dev.config.write_text(dev.config.read_text() + "rollback_on: [checks, failures]\n")
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    failing = repo.commit("failing", repo.keys.ops, site(repo, "bad\n", extra="    validate: /bin/false {path}\n"))
    code, report, stderr = dev.run()
    assert code == 0, stderr
    assert dev.current() == good and dev.motd == "good\n"
    assert report["bundle"]["refused"]["commit"] == failing
    assert report["bundle"]["refused"]["reason"].startswith("1 resource(s) failed")


def test_without_rollback_on_failures_a_failing_commit_stays_and_fails(repo, hosts):
    dev = hosts["dev1"]
    repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    failing = repo.commit("failing", repo.keys.ops, site(repo, "bad\n", extra="    validate: /bin/false {path}\n"))
    code, report, _ = dev.run()
    assert code == 1 and dev.current() == failing and report["status"] == "failed"


def test_evidence_of_health_checks_every_run_and_keeps_converged_since(repo, hosts):
    dev = hosts["dev1"]
    one = repo.commit("one", repo.keys.ops, site(repo, "one\n"))
    code, first, _ = dev.run()
    assert code == 0 and first["checks"][0]["status"] == "passed"
    since = first["bundle"]["converged_since"]
    code, second, _ = dev.run()
    assert code == 0 and second["status"] == "unchanged"
    assert [c["status"] for c in second["checks"]] == ["passed"]  # with a pipeline: checks on every full run
    assert second["bundle"]["converged_since"] == since
    assert all('host="dev1"' in line for line in dev.metrics.read_text().splitlines() if line.startswith("tend_"))
    assert dev.metric("tend_bundle_converged_since_timestamp_seconds") != {}

    noop = dev.tend("plan", "--json")
    assert noop.returncode == 0, noop.stderr
    last = json.loads((dev.state / "reports" / "last_run.json").read_text())
    assert last["run_id"] == second["run_id"]  # a noop report is stored beside, never over
    assert f'commit="{one}"' in dev.metrics.read_text()


def test_a_candidate_cannot_drop_a_stage_on_its_way_in(repo, hosts):
    ops, stg, prod = repo.keys.ops, hosts["stg1"], hosts["prod1"]
    one = repo.commit("one", ops, site(repo, "one\n"))
    repo.tag("tend/staging/1", one, ops)
    repo.tag("tend/prod/1", one, ops)
    assert prod.run()[0] == 0 and prod.current() == one
    shortcut = "stages:\n  dev: {}\n  staging: {after: [dev]}\n  prod: {after: [dev]}\n"
    two = repo.commit("prod after dev only", ops, {**site(repo, "two\n"), "pipeline.yaml": shortcut})
    repo.tag("tend/prod/2", two, ops)
    code, report, stderr = prod.run()  # the deployed pipeline still governs: prod follows staging
    assert code == 0, stderr
    assert prod.current() == one and prod.motd == "one\n"
    assert report["bundle"]["refused"]["commit"] == two
    assert "never released to staging" in report["bundle"]["refused"]["reason"]
    repo.tag("tend/staging/2", two, ops)
    assert stg.run()[0] == 0 and prod.run()[0] == 0 and prod.current() == two
