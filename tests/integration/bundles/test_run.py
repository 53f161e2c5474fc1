"""`tend run` = pull + apply of the signed tip; its reports (`tend report`) and `tend drift`."""

from __future__ import annotations

import json
import os

from tests.integration.bundles.conftest import FINGERPRINT, SHA, Site, control_repo


def test_run_pulls_and_converges_with_the_bundle_in_the_report(site: Site) -> None:
    ops, conf = site.keys.ops, site.out / "app.conf"
    commit = site.origin.commit("A", ops, control_repo(site.out, "hello\n", admins=(ops,)))

    code, report, stderr = site.agent.json("run")
    assert code == 0, stderr
    assert f"deployed {commit[:12]}" in stderr
    # §8.4: the first clean converge of the commit stamps converged_since; later runs carry the same time.
    assert report["bundle"] == {"commit": commit, "signer": ops.fingerprint, "converged_since": report["finished"]}
    assert SHA.match(report["bundle"]["commit"]) and FINGERPRINT.match(report["bundle"]["signer"])
    assert report["mode"] == "apply" and report["status"] == "changed"
    assert [(r["id"], r["status"]) for r in report["resources"]] == [(f"file:{conf}", "changed")]
    assert conf.read_text() == "hello\n"
    assert site.agent.current() == commit

    last = site.agent.tend("report", "last", "--json")
    assert last.returncode == 0, last.stderr
    assert json.loads(last.stdout) == report
    listed = site.agent.tend("report", "list")
    assert listed.returncode == 0
    assert listed.stdout.split() == [report["run_id"], "apply", "changed", "1", "resources"]
    shown = site.agent.tend("report", "show", report["run_id"])
    assert f"bundle {commit} signed by {ops.fingerprint}" in shown.stdout

    code, again, stderr = site.agent.json("run")
    assert code == 0, stderr
    assert f"up to date at {commit[:12]}" in stderr
    assert again["status"] == "unchanged"
    assert again["bundle"] == report["bundle"]
    assert set(site.agent.report_ids()) == {report["run_id"], again["run_id"]}


def test_run_applies_the_current_bundle_and_reports_the_refused_tip(site: Site) -> None:
    """§5: a tip refused for its signature during `tend run` leaves the exit code to the kept converge."""
    ops, conf = site.keys.ops, site.out / "app.conf"
    good = site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    assert site.agent.tend("run").returncode == 0
    unsigned = site.origin.commit("unsigned", None, control_repo(site.out, "evil\n", admins=(ops,)))
    conf.write_text("edited\n")

    code, report, stderr = site.agent.json("run")
    assert code == 0, stderr
    assert report["bundle"]["refused"] == {"commit": unsigned, "reason": f"refusing commit {unsigned[:12]}: not signed"}
    assert "not signed" in stderr and "applying the current bundle" in stderr
    assert report["bundle"]["commit"] == good
    assert report["status"] == "changed"
    assert conf.read_text() == "A\n"
    assert site.agent.current() == good


def test_run_with_nothing_pulled_and_a_refused_tip_fails(site: Site) -> None:
    site.origin.commit("unsigned", None, control_repo(site.out, "evil\n"))
    done = site.agent.tend("run")
    assert done.returncode == 1
    assert "nothing has been pulled yet" in done.stderr
    assert not (site.out / "app.conf").exists()


def test_drift_lists_a_file_edited_by_hand_between_runs(site: Site) -> None:
    ops, conf = site.keys.ops, site.out / "app.conf"
    site.origin.commit("A", ops, control_repo(site.out, "managed\n", admins=(ops,)))
    assert site.agent.tend("run").returncode == 0
    empty = site.agent.tend("drift")
    assert empty.returncode == 0 and empty.stdout == ""

    conf.write_text("by hand\n")
    code, report, stderr = site.agent.json("run")
    assert code == 0, stderr
    assert report["resources"][0]["drift"] is True
    assert conf.read_text() == "managed\n"

    drift = site.agent.tend("drift", "--json")
    assert drift.returncode == 0
    assert [(d["run_id"], d["id"], d["status"]) for d in json.loads(drift.stdout)] == [
        (report["run_id"], f"file:{conf}", "changed")
    ]
    text = site.agent.tend("drift")
    assert f"file:{conf}  (changed, run {report['run_id']})" in text.stdout


def test_a_commit_with_an_absolute_symlink_is_refused_cleanly(site: Site) -> None:
    ops, conf = site.keys.ops, site.out / "app.conf"
    good = site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    assert site.agent.tend("run").returncode == 0
    os.symlink("/usr/share/zoneinfo/UTC", site.origin.path / "data" / "localtime")
    site.origin.commit("B", ops, control_repo(site.out, "B\n", admins=(ops,)))
    conf.write_text("by hand\n")

    done = site.agent.tend("run")
    assert done.returncode == 0, done.stderr  # the unsafe commit is refused, the kept bundle converged
    assert site.agent.current() == good
    assert [p.name for p in site.agent.bundles.glob(".staging-*")] == []
    assert "Traceback" not in done.stderr
    assert "applying the current bundle" in done.stderr
    assert conf.read_text() == "A\n"
