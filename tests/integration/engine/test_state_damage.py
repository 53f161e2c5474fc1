"""A damaged state.json is set aside and said, drift is still told from the last report, old formats migrate."""

from __future__ import annotations

import json
import re

from agent.runner.state import STATE_VERSION
from tests.integration.engine.conftest import Site

MANIFEST = """
resources:
  - file: /etc/app.conf
    content: "level={{ facts.level }}\\n"
  - file: /etc/other.conf
    content: "other\\n"
  - file: /etc/third.conf
    content: "third\\n"
"""
DAMAGED = re.compile(r"state\.json\.damaged-\d{8}T\d{6}Z")


def converged_site(site: Site) -> None:
    site.write({"data/common.yaml": "classes: [app]\n", "manifests/app.yaml": MANIFEST})
    first = site.apply("--fact", "level=1")
    assert first.returncode == 2, first.stderr
    assert first.report is not None and first.report["state_damaged"] is False


def test_a_damaged_state_is_set_aside_said_and_drift_is_still_told(site: Site) -> None:
    converged_site(site)
    site.path("/etc/other.conf").write_text("edited by hand\n")
    state = site.state / "state.json"
    state.write_text('{"version": 1, "resources": {"file:/etc/app.conf": ')  # a torn hand edit

    run = site.apply("--fact", "level=2")  # app.conf's desired state changes; other.conf's does not
    assert run.returncode == 2, run.stderr
    assert run.report is not None and run.report["state_damaged"] is True
    kept = [p for p in site.state.iterdir() if DAMAGED.fullmatch(p.name)]
    assert len(kept) == 1 and kept[0].read_text() == '{"version": 1, "resources": {"file:/etc/app.conf": '
    warning = next(line for line in run.stderr.splitlines() if "is damaged" in line)
    assert warning.startswith(f"tend: warning: {state} is damaged (not JSON: ")
    assert f"moved it aside to {kept[0]}" in warning
    assert "refreshes it still owed are lost" in warning
    assert f"drift is judged against the report of run {run_of(site, 1)}" in warning
    assert run.result("file:/etc/other.conf")["drift"] is True  # in sync last run, desired unchanged, edited
    changed = run.result("file:/etc/app.conf")  # a new desired state: changed, and no drift
    assert (changed["status"], changed["drift"], changed["changes"][0]["property"]) == ("changed", False, "content")
    assert run.result("file:/etc/third.conf")["status"] == "unchanged"
    assert run.result("file:/etc/third.conf")["drift"] is False
    assert site.path("/etc/other.conf").read_text() == "other\n"
    assert site.last_report()["state_damaged"] is True

    # The state is whole again: the next run is quiet.
    assert site.state_json()["version"] == STATE_VERSION
    again = site.apply("--fact", "level=2")
    assert (again.returncode, again.report["state_damaged"], again.stderr) == (0, False, "")


def test_without_the_ledger_drift_cannot_be_told_and_the_warning_says_so(site: Site) -> None:
    converged_site(site)
    site.path("/etc/other.conf").write_text("edited by hand\n")
    (site.state / "state.json").write_text("[]")
    (site.state / "state.desired.json").unlink()
    run = site.apply("--fact", "level=1")
    assert run.returncode == 2 and run.report["state_damaged"] is True
    assert "(a JSON list where a state object belongs)" in run.stderr
    assert "drift cannot be told" in run.stderr
    assert run.result("file:/etc/other.conf")["status"] == "changed"
    assert run.result("file:/etc/other.conf")["drift"] is False


def test_a_state_from_a_newer_tend_is_damage_and_kept(site: Site) -> None:
    converged_site(site)
    newer = json.dumps({"version": STATE_VERSION + 1, "resources": {}, "owed_refresh": {}, "dropped": []})
    (site.state / "state.json").write_text(newer)
    run = site.apply("--fact", "level=1")
    assert run.returncode == 0 and run.report["state_damaged"] is True
    assert f"(format version {STATE_VERSION + 1} is newer than this tend reads ({STATE_VERSION}))" in run.stderr
    assert [p.read_text() for p in site.state.iterdir() if DAMAGED.fullmatch(p.name)] == [newer]


def test_plan_on_a_damaged_state_warns_and_leaves_it_in_place(site: Site) -> None:
    converged_site(site)
    site.path("/etc/other.conf").write_text("edited by hand\n")
    state = site.state / "state.json"
    state.write_bytes(b"\x00\x00garbage")
    plan = site.plan("--fact", "level=1")
    assert plan.returncode == 2, plan.stderr
    assert plan.report["state_damaged"] is True
    assert f"{state} is damaged" in plan.stderr and "left it in place (noop writes nothing)" in plan.stderr
    assert plan.status("file:/etc/other.conf") == "would-change"
    assert plan.result("file:/etc/other.conf")["drift"] is True
    assert state.read_bytes() == b"\x00\x00garbage"
    assert not [p for p in site.state.iterdir() if DAMAGED.fullmatch(p.name)]


def test_a_version_0_state_is_migrated_and_drift_is_told(site: Site) -> None:
    """A version 0 state (no version field) is no damage: it is migrated, and its records still count."""
    converged_site(site)
    written = site.state_json()
    state = {k: v for k, v in written.items() if k != "version"}
    (site.state / "state.json").write_text(json.dumps(state))
    (site.state / "state.desired.json").unlink()  # the ledger plays no part when the state is whole
    site.path("/etc/other.conf").write_text("edited by hand\n")
    run = site.apply("--fact", "level=1")
    assert run.returncode == 2 and run.report["state_damaged"] is False
    assert "damaged" not in run.stderr
    assert run.result("file:/etc/other.conf")["drift"] is True
    assert site.state_json()["version"] == STATE_VERSION
    assert not [p for p in site.state.iterdir() if DAMAGED.fullmatch(p.name)]


def run_of(site: Site, number: int) -> str:
    """The id of this host's run `number` (1: the first)."""
    return next(p.stem for p in (site.state / "reports").glob(f"{number:08d}-*.json"))
