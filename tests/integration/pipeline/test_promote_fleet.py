"""`tend promote` and `tend fleet` through the command line, on a signed repository and shipped reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.pipeline.releases import Releases
from agent.secrets.gpg import GnuPG
from tests.conftest import run_tend
from tests.integration.pipeline.conftest import INVENTORY, Repo, report, ship, site_files


@pytest.fixture
def site(repo: Repo) -> tuple[Repo, str]:
    files = {**site_files(), "keys/admins/ops.asc": repo.keys.ops.public, "keys/admins/eve.asc": repo.keys.eve.public}
    return repo, repo.commit("first", repo.keys.ops, files)


def tend(repo: Repo, *args: str):
    trust = ["--trusted-signer", repo.keys.ops.fingerprint, "--gnupghome", str(repo.keys.home)]
    return run_tend([*args, "--repo", str(repo.path), *trust])


def trusted(repo: Repo, agent_home: Path) -> Releases:
    return Releases(repo.path / ".git", [repo.keys.ops.fingerprint], GnuPG(agent_home), branch_ref="refs/heads/main")


def test_promote_is_refused_until_the_evidence_arrives_then_signs_the_tag(site, tmp_path, agent_home):
    repo, commit = site
    reports = tmp_path / "reports"
    reports.mkdir()
    evidence = f"--evidence=reports={reports}"
    done = tend(repo, "promote", "staging", evidence)
    assert done.returncode == 1, done.stderr
    assert "dev1: missing: no run reported" in done.stdout
    assert "the evidence does not show" in done.stderr

    ship(reports, "dev1", report("dev1", commit, minutes_ago=1, converged_minutes_ago=10))
    done = tend(repo, "promote", "staging", evidence)
    assert done.returncode == 1
    assert "dev1: too recent: converged 10m ago, the soak is 30m" in done.stdout

    ship(reports, "dev1", report("dev1", commit, minutes_ago=1, converged_minutes_ago=40, checks=("failed",)))
    assert "dev1: failed: 1 checks failed" in tend(repo, "promote", "staging", evidence).stdout

    ship(reports, "dev1", report("dev1", commit, minutes_ago=1, converged_minutes_ago=40))
    done = tend(repo, "promote", "staging", evidence)
    assert done.returncode == 0, done.stderr
    assert f"released {commit[:12]} to staging: tag tend/staging/1" in done.stdout
    assert "not pushed" in done.stdout
    with trusted(repo, agent_home) as found:
        release = found.newest("staging")
        assert release is not None and release.commit == commit and release.signer == repo.keys.ops.fingerprint
        assert "dev1: converged 40m ago, 1 checks passed" in release.message
        assert f"Evidence from reports={reports}" in release.message


def test_promote_to_prod_checks_the_order_and_names_each_host_then_pushes(site, tmp_path, agent_home):
    repo, commit = site
    remote = tmp_path / "remote.git"
    repo.git("init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    reports = tmp_path / "reports"
    for host in ("stg1", "stg2", "perf1"):
        ship(reports, host, report(host, commit, minutes_ago=2, converged_minutes_ago=120))
    ship(reports, "stg1", report("stg1", commit, minutes_ago=2, converged_minutes_ago=120, status="failed"))
    repo.tag("tend/staging/1", commit, repo.keys.ops)
    evidence = f"--evidence=reports={reports}"

    done = tend(repo, "promote", "prod", commit, evidence)
    assert done.returncode == 1
    assert f"promote refused: {commit[:12]} was never released to perf" in done.stderr
    assert "stg1: failed: its last run failed (1 resources failed)" in done.stdout
    assert "staging: 1 of 2 hosts healthy" in done.stdout

    repo.tag("tend/perf/1", commit, repo.keys.ops)
    ship(reports, "stg1", report("stg1", commit, minutes_ago=2, converged_minutes_ago=120))
    done = tend(repo, "promote", "prod", evidence, "--push")  # COMMIT: the newest released to staging and perf
    assert done.returncode == 0, done.stderr
    assert "pushed tend/prod/1 to origin" in done.stdout
    assert repo.git("--git-dir", str(remote), "rev-parse", "tend/prod/1^{commit}") == commit
    with trusted(repo, agent_home) as found:
        assert found.refusal(commit, "prod", found_pipeline(repo)) is None


def found_pipeline(repo: Repo):
    from agent.pipeline.model import load_pipeline

    return load_pipeline(repo.path)


def test_promote_refuses_when_a_stage_it_follows_has_no_inventory_host(site, tmp_path):
    repo, commit = site
    no_perf_host = INVENTORY.replace("environment: perf", "environment: dev")
    repo.commit("no perf host", repo.keys.ops, {"keys/inventory.yaml": no_perf_host})
    reports = tmp_path / "reports"
    reports.mkdir()
    done = tend(repo, "promote", "prod", commit, f"--evidence=reports={reports}")
    assert done.returncode == 1
    assert "perf: no inventory host has environment perf" in done.stdout


def test_promote_errors_name_the_file_and_line(site):
    repo, _ = site
    repo.write({"pipeline.yaml": "stages:\n  dev: {}\n  prod: {after: [stagign]}\n"})
    done = tend(repo, "promote", "prod", "--evidence=reports=/nonexistent")
    assert done.returncode == 1
    assert "pipeline.yaml:3: stage prod: unknown stage 'stagign' in after" in done.stderr


def test_fleet_flags_stale_and_failed_hosts_and_which_commit_is_released(site, tmp_path):
    repo, commit = site
    later = repo.commit("second", repo.keys.ops, {"data/common.yaml": "classes: [motd]\nmotd::text: two\n"})
    repo.tag("tend/staging/1", commit, repo.keys.ops)
    reports = tmp_path / "reports"
    ship(reports, "dev1", report("dev1", later, minutes_ago=5, converged_minutes_ago=5, drift=2))
    ship(reports, "stg1", report("stg1", commit, minutes_ago=5, converged_minutes_ago=50, status="failed"))
    ship(reports, "stg2", report("stg2", later, minutes_ago=120, converged_minutes_ago=200, refused=later))
    done = tend(repo, "fleet", f"--evidence=reports={reports}", "--format=json")
    assert done.returncode == 1, done.stderr
    rows = {row["host"]: row for row in json.loads(done.stdout)["hosts"]}
    assert list(rows) == ["dev1", "stg1", "stg2", "perf1", "prod1"]  # stage order, then name
    assert rows["dev1"] | {"last_run": None} == {
        "host": "dev1", "stage": "dev", "commit": later, "released": True, "last_run": None,
        "status": "unchanged", "failed": 0, "drifted": 2, "stale": False, "refused": None,
    }  # fmt: skip
    assert (rows["stg1"]["status"], rows["stg1"]["failed"], rows["stg1"]["released"]) == ("failed", 1, True)
    assert (rows["stg2"]["stale"], rows["stg2"]["released"], rows["stg2"]["refused"]) == (True, False, later)
    assert rows["perf1"]["stale"] and rows["perf1"]["last_run"] is None
    summary = json.loads(done.stdout)["summary"]
    assert (summary["hosts"], summary["failed"], summary["stale"]) == (5, 1, 3)

    table = tend(repo, "fleet", f"--evidence=reports={reports}")
    assert table.returncode == 1
    assert table.stdout.splitlines()[0].split() == [
        "HOST", "STAGE", "COMMIT", "RELEASED", "LAST", "RUN", "STATUS", "FAILED", "DRIFTED", "STALE"
    ]  # fmt: skip
    assert "5 hosts: 1 failed, 3 stale, 1 refused a commit" in table.stdout
