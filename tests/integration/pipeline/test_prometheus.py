"""A real Prometheus scraping a node_exporter per simulated host (textfile collector, 127.0.0.1 only):
`tend fleet` and `tend promote` read it, and every PromQL query of the Grafana dashboard returns series."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.reports.metrics import render_host_metrics
from agent.reports.model import Report, ResourceResult, Status
from tests.conftest import PROJECT, run_tend
from tests.integration.pipeline.conftest import Repo, site_files

HOSTS = {"dev1": "dev", "stg1": "staging", "stg2": "staging", "perf1": "perf", "prod1": "prod"}
DASHBOARD = PROJECT / "packaging" / "grafana" / "tend.json"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Fleet:
    url: str
    textfiles: dict[str, Path]  # host -> its exporter's textfile directory

    def query(self, expression: str) -> list[dict]:
        body = urllib.parse.urlencode({"query": expression}).encode()
        with urllib.request.urlopen(f"{self.url}/api/v1/query", data=body, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def publish(self, host: str, text: str) -> None:
        """Write a host's textfile atomically, as the agent does, and wait until Prometheus has scraped it."""
        temporary = self.textfiles[host] / ".tend.prom.tmp"
        temporary.write_text(text)
        temporary.rename(self.textfiles[host] / "tend.prom")
        wanted = text.split("tend_last_run_timestamp_seconds{", 1)[1].split("} ", 1)[1].split()[0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = self.query(f'tend_last_run_timestamp_seconds{{host="{host}"}}')
            if found and abs(float(found[0]["value"][1]) - float(wanted)) < 0.01:
                return
            time.sleep(0.3)
        raise AssertionError(f"Prometheus never scraped {host}'s textfile")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    missing = [b for b in ("prometheus", "prometheus-node-exporter") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian: prometheus, prometheus-node-exporter)")
    base = tmp_path_factory.mktemp("prom")
    processes: list[subprocess.Popen] = []
    textfiles, targets = {}, []
    try:
        for host in HOSTS:
            directory = base / "textfiles" / host
            directory.mkdir(parents=True)
            port = _free_port()
            processes.append(subprocess.Popen(
                ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                 "--collector.textfile", f"--collector.textfile.directory={directory}"],
                stdout=subprocess.DEVNULL, stderr=(base / f"{host}.log").open("w"),
            ))  # fmt: skip
            textfiles[host] = directory
            targets.append(f"127.0.0.1:{port}")
        config = base / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"scrape_configs:\n  - job_name: tend\n    static_configs:\n      - targets: {json.dumps(targets)}\n"
        )
        port = _free_port()
        processes.append(subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={base / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=(base / "prometheus.log").open("w"),
        ))  # fmt: skip
        made = Fleet(f"http://127.0.0.1:{port}", textfiles)
        _wait_for_targets(made, len(targets), base)
        yield made
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_for_targets(fleet: Fleet, count: int, base: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len([s for s in fleet.query("up == 1")]) == count:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"Prometheus or an exporter did not come up: {(base / 'prometheus.log').read_text()[-2000:]}")


def metrics(host: str, commit: str, *, run_ago: float, converged_ago: float | None, failed: bool = False,
            refused: str | None = None) -> str:  # fmt: skip
    """The §8.4 textfile of a run `run_ago` minutes ago, through the writer the agent calls."""
    now = datetime.now(UTC)
    finished = now - timedelta(minutes=run_ago)
    resources = [ResourceResult("file:/etc/motd", Status.FAILED if failed else Status.UNCHANGED, drift=not failed)]
    bundle = {"commit": commit, "signer": "F" * 40}
    checks = [{"status": "failed" if failed else "passed"}]
    started = finished - timedelta(seconds=2)
    report = Report("1", host, started, "apply", bundle=bundle, finished=finished, resources=resources, checks=checks)
    converged = now - timedelta(minutes=converged_ago) if converged_ago is not None else None
    return render_host_metrics(report, host=host, stage=HOSTS[host], converged_since=converged, refused=refused)


def test_fleet_promote_and_the_dashboard_on_a_real_prometheus(fleet, repo: Repo):
    files = {**site_files(), "keys/admins/ops.asc": repo.keys.ops.public}
    commit = repo.commit("first", repo.keys.ops, files)
    bad = "b" * 40
    fleet.publish("dev1", metrics("dev1", commit, run_ago=1, converged_ago=5))
    fleet.publish("stg1", metrics("stg1", commit, run_ago=1, converged_ago=60, failed=True))
    fleet.publish("stg2", metrics("stg2", commit, run_ago=200, converged_ago=300, refused=bad))
    fleet.publish("perf1", metrics("perf1", commit, run_ago=1, converged_ago=60))
    fleet.publish("prod1", metrics("prod1", commit, run_ago=1, converged_ago=600))
    trust = ["--repo", str(repo.path), "--trusted-signer", repo.keys.ops.fingerprint]
    trust += ["--gnupghome", str(repo.keys.home)]
    evidence = f"--evidence=prometheus={fleet.url}"

    done = run_tend(["fleet", evidence, "--format=json", *trust])
    assert done.returncode == 1, done.stderr
    rows = {row["host"]: row for row in json.loads(done.stdout)["hosts"]}
    assert rows["dev1"]["status"] == "unchanged" and rows["dev1"]["drifted"] == 1 and rows["dev1"]["released"]
    assert (rows["stg1"]["status"], rows["stg1"]["failed"], rows["stg1"]["stale"]) == ("failed", 1, False)
    assert (rows["stg2"]["stale"], rows["stg2"]["refused"]) == (True, bad)
    assert all(row["commit"] == commit for row in rows.values())

    refused = run_tend(["promote", "staging", evidence, *trust])
    assert refused.returncode == 1
    assert "dev1: too recent: converged 5m ago, the soak is 30m" in refused.stdout
    fleet.publish("dev1", metrics("dev1", commit, run_ago=0.5, converged_ago=45))
    accepted = run_tend(["promote", "staging", evidence, *trust])
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "tag tend/staging/1" in accepted.stdout
    assert f"Evidence from prometheus={fleet.url}" in repo.git("tag", "-l", "--format=%(contents)", "tend/staging/1")

    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 10
    for expression in expressions:
        query = expression.replace("$stage", ".*").replace("$stale_after", "3900")
        result = fleet.query(query)
        assert result, f"no series for {expression}"
        assert all(float(sample["value"][1]) > 0 or "vector(0)" not in query for sample in result), expression
        labelled = [s for s in result if "host" in s["metric"]]
        assert not labelled or {s["metric"]["host"] for s in labelled} <= set(HOSTS)
