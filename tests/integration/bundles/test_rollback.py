"""Going back: `tend rollback [--to SHA]`, and the automatic rollback when a smoke check fails after a new bundle."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import psutil

from tests.integration.bundles.conftest import HealthServer, Site, control_repo


def _deploy(site: Site, content: str) -> str:
    """Commit (signed by ops) a repo writing `content`, `tend run` it, return the commit."""
    commit = site.origin.commit(content, site.keys.ops, control_repo(site.out, content, admins=(site.keys.ops,)))
    done = site.agent.tend("run")
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commit
    return commit


def test_rollback_restores_the_last_good_bundle_and_refuses_the_bad_tip(site: Site) -> None:
    conf = site.out / "app.conf"
    a = _deploy(site, "A\n")
    b = _deploy(site, "B\n")
    assert conf.read_text() == "B\n"

    done = site.agent.tend("rollback")
    assert done.returncode == 0, done.stderr
    assert f"rolled back to {a[:12]} from {b[:12]}" in done.stderr
    assert site.agent.current() == a
    assert conf.read_text() == "A\n"

    # B, still the tip, is bad now: not deployed again until a newer commit.
    pulled = site.agent.tend("pull")
    assert pulled.returncode == 1
    assert f"refusing commit {b[:12]}" in pulled.stderr and "waiting for a newer commit" in pulled.stderr
    assert site.agent.current() == a
    conf.write_text("by hand\n")
    code, report, stderr = site.agent.json("run")
    assert code == 0, stderr  # §5: the host is healthy on the good bundle; the refused tip is in the report
    assert "applying the current bundle" in stderr
    assert report["bundle"]["commit"] == a and report["bundle"]["refused"]["commit"] == b
    assert site.agent.current() == a
    assert conf.read_text() == "A\n"

    c = _deploy(site, "C\n")
    assert conf.read_text() == "C\n"
    assert site.agent.current() == c


def test_refusing_a_commit_an_admin_rolled_back_does_not_blame_smoke_checks(site: Site) -> None:
    _deploy(site, "A\n")
    _deploy(site, "B\n")  # no checks declared anywhere
    assert site.agent.tend("rollback").returncode == 0
    pulled = site.agent.tend("pull")
    assert pulled.returncode == 1
    assert "smoke checks" not in pulled.stderr


def test_rollback_to_a_given_sha(site: Site) -> None:
    conf = site.out / "app.conf"
    a = _deploy(site, "A\n")
    b = _deploy(site, "B\n")
    _deploy(site, "C\n")

    done = site.agent.tend("rollback", "--to", a[:10])
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == a
    assert conf.read_text() == "A\n"

    done = site.agent.tend("rollback", "--to", b)  # an admin may go to any verified commit, forwards too
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == b
    assert conf.read_text() == "B\n"


def test_rollback_to_an_unsigned_commit_is_refused(site: Site) -> None:
    a = _deploy(site, "A\n")
    unsigned = site.origin.commit("unsigned", None, control_repo(site.out, "evil\n"))
    assert site.agent.tend("pull").returncode == 1  # fetched into the mirror, refused

    done = site.agent.tend("rollback", "--to", unsigned)
    assert done.returncode == 1
    assert f"refusing commit {unsigned[:12]}: not signed" in done.stderr
    assert site.agent.current() == a
    assert (site.out / "app.conf").read_text() == "A\n"


def test_rollback_needs_a_good_bundle_or_a_sha(site: Site) -> None:
    ops = site.keys.ops
    only = site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    assert site.agent.tend("pull").returncode == 0  # pulled, never converged: not "good"
    done = site.agent.tend("rollback")
    assert done.returncode == 1
    assert "no earlier good bundle is kept; give --to SHA" in done.stderr
    assert site.agent.current() == only

    missing = site.agent.tend("rollback", "--to", "0123456789abcdef")
    assert missing.returncode == 1
    assert "0123456789abcdef is not a commit of the pulled source" in missing.stderr


def _checks(health: HealthServer, path: str = "/healthz") -> str:
    """All four kinds; the process pattern is this test process's own command line."""
    me = re.escape(" ".join(psutil.Process().cmdline())).replace("'", "''")
    return f"""
    - http: "http://127.0.0.1:{health.port}{path}"
      retries: 0
    - tcp: "127.0.0.1:{health.port}"
    - command: [/bin/true]
    - process: '{me}'
    """


def _report(site: Site, run_id: str) -> dict:
    shown = site.agent.tend("report", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_a_failed_smoke_check_after_a_new_bundle_rolls_back(site: Site, health: HealthServer) -> None:
    ops, conf = site.keys.ops, site.out / "app.conf"
    a = site.origin.commit("A", ops, control_repo(site.out, "A\n", checks=_checks(health), admins=(ops,)))
    code, first, stderr = site.agent.json("run")
    assert code == 0, stderr
    assert [(c["kind"], c["status"]) for c in first["checks"]] == [
        ("http", "passed"),
        ("tcp", "passed"),
        ("command", "passed"),
        ("process", "passed"),
    ]
    assert first["checks"][0]["detail"] == "HTTP 200"
    code, quiet, stderr = site.agent.json("run")
    assert code == 0 and quiet["checks"] == []  # nothing changed: no checks

    before = set(site.agent.report_ids())
    b = site.origin.commit("B", ops, control_repo(site.out, "B\n", checks=_checks(health, "/broken"), admins=(ops,)))
    done = site.agent.tend("run")
    assert done.returncode == 0, done.stderr  # §8.2: exits as the converge of the bundle it kept
    assert f"smoke checks failed after {b[:12]}: rolling back to {a[:12]}" in done.stderr
    assert "check failed  http" in done.stdout and "HTTP 404, expected 200" in done.stdout
    assert site.agent.current() == a
    assert conf.read_text() == "A\n"

    new = [_report(site, run_id) for run_id in sorted(set(site.agent.report_ids()) - before)]
    by_commit = {report["bundle"]["commit"]: report for report in new}
    assert len(new) == 2 and set(by_commit) == {a, b}
    bad, good = by_commit[b], by_commit[a]
    assert [c["status"] for c in bad["checks"]] == ["failed", "passed", "passed", "passed"]
    assert bad["checks"][0]["target"] == f"http://127.0.0.1:{health.port}/broken"
    assert bad["status"] == "failed" and bad["exit_code"] == 1
    assert [c["status"] for c in good["checks"]] == ["passed"] * 4
    assert good["status"] == "changed" and good["resources"][0]["status"] == "changed"
    assert good["started"] >= bad["started"]
    assert json.loads(site.agent.tend("report", "last", "--json").stdout)["run_id"] == good["run_id"]

    # B is bad: the next run keeps A and says why; a newer commit is deployed.
    again = site.agent.tend("run")
    assert again.returncode == 0 and f"refusing commit {b[:12]}" in again.stderr
    assert site.agent.current() == a
    c = site.origin.commit("C", ops, control_repo(site.out, "C\n", checks=_checks(health), admins=(ops,)))
    fixed = site.agent.tend("run")
    assert fixed.returncode == 0, fixed.stderr
    assert site.agent.current() == c
    assert conf.read_text() == "C\n"


def test_json_after_an_automatic_rollback_is_one_report_naming_the_refused_commit(
    site: Site, health: HealthServer
) -> None:
    ops = site.keys.ops
    a = site.origin.commit("A", ops, control_repo(site.out, "A\n", checks=_checks(health), admins=(ops,)))
    assert site.agent.tend("run").returncode == 0
    b = site.origin.commit("B", ops, control_repo(site.out, "B\n", checks=_checks(health, "/broken"), admins=(ops,)))
    code, report, stderr = site.agent.json("run")  # json.loads: the output is one document
    assert code == 0 and f"rolling back to {a[:12]}" in stderr
    bad = next(_report(site, run_id) for run_id in site.agent.report_ids() if run_id != report["run_id"]
               and _report(site, run_id)["bundle"]["commit"] == b)  # fmt: skip
    assert report["bundle"]["commit"] == a and report["status"] == "changed"
    assert report["bundle"]["refused"] == {"commit": b, "reason": f"its smoke checks failed (run {bad['run_id']})"}
    assert report == _report(site, report["run_id"])


def test_a_failed_smoke_check_with_no_good_bundle_keeps_the_new_one(site: Site, health: HealthServer) -> None:
    ops = site.keys.ops
    a = site.origin.commit("A", ops, control_repo(site.out, "A\n", checks=_checks(health, "/broken"), admins=(ops,)))
    done = site.agent.tend("run")
    assert done.returncode == 1
    assert f"smoke checks failed after {a[:12]} and no earlier good bundle is kept" in done.stderr
    assert site.agent.current() == a


def test_a_failed_check_after_fixing_drift_does_not_roll_back_a_proven_bundle(site: Site, health: HealthServer) -> None:
    """A and B both converged with passing checks; later the service goes down while tend fixes a hand edit."""
    ops, conf = site.keys.ops, site.out / "app.conf"
    for content in ("A\n", "B\n"):
        site.origin.commit(content, ops, control_repo(site.out, content, checks=_checks(health), admins=(ops,)))
        assert site.agent.tend("run").returncode == 0
    b = site.agent.current()

    conf.write_text("by hand\n")
    health.healthy = False
    done = site.agent.tend("run")
    assert done.returncode == 1  # the failed check is reported...
    assert site.agent.current() == b  # ...but B is not new: no rollback to A, B not marked bad
    assert conf.read_text() == "B\n"


def test_run_ids_of_one_process_sort_in_time_order() -> None:
    from agent.reports.model import new_run_id

    now = datetime(2030, 1, 1, tzinfo=UTC)
    ids = [new_run_id(now, sequence) for sequence in (1, 2, 9, 10, 99, 100, 12345)]
    assert sorted(ids) == ids
