"""`tend apply --noop` and `tend plan` change nothing on disk, report what would change, and plan shows diffs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.engine.conftest import Site, tree_digest


def snapshot(site: Site, managed: Path) -> tuple[dict, dict]:
    """The managed tree and the state directory, reports aside (each run adds one)."""
    return tree_digest(managed), tree_digest(site.state, skip=("reports",))


def host_manifest(managed: Path) -> str:
    return f"""
        resources:
          - file: {managed}/motd
            content: "msg: {{{{ facts.msg }}}}\\n"
            notify: exec:reload
          - file: {managed}/new-{{{{ facts.msg }}}}.conf
            content: "fresh\\n"
          - file: {managed}/gone.conf
            ensure: absent
          - file: {managed}/mode.conf
            content: "m\\n"
            mode: "{{{{ facts.mode }}}}"
          - exec: reload
            command: [/bin/sh, -c, "echo ran >> {managed}/reload.log"]
            refreshonly: true
    """


def test_noop_and_plan_change_nothing(host_site: Site, tmp_path: Path) -> None:
    managed = tmp_path / "managed"
    managed.mkdir()
    site = host_site
    site.write({"data/common.yaml": "classes: [svc]\n", "manifests/svc.yaml": host_manifest(managed)})
    baseline = site.apply("--fact", "msg=one", "--fact", "mode='0644'")
    assert baseline.returncode == 2, baseline.stdout + baseline.stderr
    assert (managed / "reload.log").read_text() == "ran\n"
    (managed / "gone.conf").write_text("to be removed\n")
    before = snapshot(site, managed)

    noop = site.apply("--noop", "--fact", "msg=two", "--fact", "mode='0600'")
    assert noop.returncode == 2, noop.stdout + noop.stderr
    assert noop.report is not None and noop.report["mode"] == "noop"
    assert noop.statuses == {
        f"file:{managed}/motd": "would-change",
        f"file:{managed}/new-two.conf": "would-change",
        f"file:{managed}/gone.conf": "would-change",
        f"file:{managed}/mode.conf": "would-change",
        "exec:reload": "would-refresh",
        f"file:{managed}/new-one.conf": "dropped",  # no longer declared: reported, kept (DESIGN §2)
    }
    assert noop.result(f"file:{managed}/mode.conf")["changes"] == [{"property": "mode", "from": "0644", "to": "0600"}]
    assert noop.result(f"file:{managed}/gone.conf")["changes"] == [
        {"property": "ensure", "from": "file", "to": "absent"}
    ]
    assert snapshot(site, managed) == before

    plan = site.plan("--fact", "msg=two", "--fact", "mode='0600'", json_report=False)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    out = plan.stdout
    assert f"would-change   file:{managed}/motd (content)" in out
    assert f"--- {managed}/motd (current)" in out and f"+++ {managed}/motd (desired)" in out
    assert "    -msg: one\n" in out and "    +msg: two\n" in out
    assert f"+++ {managed}/new-two.conf (desired)" in out and "    +fresh\n" in out
    assert "would-refresh  exec:reload" in out
    assert snapshot(site, managed) == before

    plan_json = site.plan("--fact", "msg=two", "--fact", "mode='0600'")
    assert plan_json.report is not None and plan_json.report["mode"] == "noop"
    assert plan_json.status("exec:reload") == "would-refresh"
    assert "diff" not in plan_json.result(f"file:{managed}/motd")
    assert snapshot(site, managed) == before
    assert (managed / "reload.log").read_text() == "ran\n"

    # The reports of the noop runs are saved beside last_run.json, never over it (§8.1): it stays the
    # full apply's, the evidence fleets read.
    assert baseline.report is not None and plan_json.report is not None
    stored = json.loads((site.state / "reports" / f"{plan_json.report['run_id']}.json").read_text())
    assert stored["run_id"] == plan_json.report["run_id"] and stored["mode"] == "noop"
    assert site.last_report()["run_id"] == baseline.report["run_id"]


def test_plan_in_a_root_shows_a_unified_diff(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [conf]\n",
            "manifests/conf.yaml": """
                resources:
                  - file: /etc/app.conf
                    content: "a = 1\\nb = {{ facts.b }}\\nc = 3\\n"
                  - file: /etc/app.d
                    ensure: directory
            """,
        }
    )
    site.path("/etc/app.conf").write_text("a = 1\nb = 1\nc = 3\n")
    before = tree_digest(site.root)
    plan = site.plan("--fact", "b=2", json_report=False, detailed=False)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    start = lines.index("would-change   file:/etc/app.conf (content)")
    assert lines[start + 1 : start + 8] == [
        "    --- /etc/app.conf (current)",
        "    +++ /etc/app.conf (desired)",
        "    @@ -1,3 +1,3 @@",
        "     a = 1",
        "    -b = 1",
        "    +b = 2",
        "     c = 3",
    ]
    assert "would-change   file:/etc/app.d (ensure)" in plan.stdout
    assert "noop 2 resources: 2 would-change" in plan.stdout
    assert tree_digest(site.root) == before
    assert not (site.state / "state.json").exists()
    assert not (site.state / "bucket").exists()


def test_noop_when_in_sync_exits_0(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [conf]\n",
            "manifests/conf.yaml": "resources:\n  - file: /etc/app.conf\n    content: same\n",
        }
    )
    assert site.apply().returncode == 2
    noop = site.apply("--noop")
    assert noop.returncode == 0 and noop.statuses == {"file:/etc/app.conf": "unchanged"}
    assert noop.report is not None and noop.report["status"] == "unchanged"
