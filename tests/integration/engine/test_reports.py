"""Run reports (§7.6): STATE/reports/<run_id>.json and last_run.json, their fields, and --json's output."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import datetime

from tests.integration.engine.conftest import Site

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
REPORT_FIELDS = {"run_id", "host", "started", "finished", "bundle", "mode", "status", "exit_code", "resources",
                 "secrets_read", "checks", "timings"}  # fmt: skip
RESOURCE_FIELDS = {"id", "status", "changes", "sensitive", "drift", "duration_ms", "error"}


def write_site(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": """
                resources:
                  - file: /etc/app.conf
                    content: "host={{ facts.hostname }} role={{ facts.role }}\\n"
                  - file: /etc/app.d
                    ensure: directory
            """,
        }
    )


def test_reports_are_stored_with_every_field(site: Site) -> None:
    write_site(site)
    run = site.apply("--host", "web1", detailed=False)
    assert run.returncode == 0, run.stderr
    report = run.report
    assert report is not None
    assert site.path("/etc/app.conf").read_text() == "host=web1 role=web\n"

    stored = site.state / "reports" / f"{report['run_id']}.json"
    last = site.state / "reports" / "last_run.json"
    assert json.loads(stored.read_text()) == json.loads(last.read_text()) == report
    for path in (stored, last):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(site.state / "reports").st_mode) == 0o700

    assert set(report) >= REPORT_FIELDS
    assert report["host"] == "web1"
    assert report["bundle"] is None  # applied from --repo
    assert (report["mode"], report["status"], report["exit_code"]) == ("apply", "changed", 0)
    assert ISO_UTC.match(report["started"]) and ISO_UTC.match(report["finished"])
    started, finished = (datetime.fromisoformat(report[k].replace("Z", "+00:00")) for k in ("started", "finished"))
    assert started <= finished
    assert report["run_id"].split("-")[1] == started.strftime("%Y%m%dT%H%M%S")  # <run number>-<UTC time>-<random>
    assert report["secrets_read"] == [] and report["checks"] == []
    assert isinstance(report["timings"], dict) and report["timings"]["total_s"] >= 0
    assert [r["id"] for r in report["resources"]] == ["file:/etc/app.conf", "file:/etc/app.d"]
    for resource in report["resources"]:
        assert set(resource) >= RESOURCE_FIELDS
        assert resource["status"] == "changed" and resource["error"] is None
        assert resource["sensitive"] is False and resource["drift"] is False
        assert resource["duration_ms"] >= 0
        for change in resource["changes"]:
            assert set(change) == {"property", "from", "to"}


def test_each_run_adds_a_report_and_last_run_follows(site: Site) -> None:
    write_site(site)
    first = site.apply("--host", "web1")
    second = site.apply("--host", "web1")
    assert first.report and second.report and first.report["run_id"] != second.report["run_id"]
    ids = sorted(p.stem for p in (site.state / "reports").glob("*.json") if p.name != "last_run.json")
    assert ids == sorted([first.report["run_id"], second.report["run_id"]])
    assert site.last_report()["run_id"] == second.report["run_id"]
    assert second.report["status"] == "unchanged"


def test_text_output_is_one_line_per_change_and_a_summary(site: Site) -> None:
    write_site(site)
    run = site.apply("--host", "web1", json_report=False, detailed=False)
    assert run.returncode == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[:2] == ["changed        file:/etc/app.conf (ensure)", "changed        file:/etc/app.d (ensure)"]
    assert re.fullmatch(r"web1: applied 2 resources: 2 changed in \d+\.\d\d s", lines[2])
    assert len(lines) == 3
    again = site.apply("--host", "web1", json_report=False, detailed=False)
    assert re.fullmatch(r"web1: applied 2 resources: 2 unchanged in \d+\.\d\d s\n", again.stdout)


def test_a_run_that_cannot_compile_is_reported_too(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": "resources:\n  - file: /etc/x\n    content: '{{ nope }}'\n",
        }
    )
    run = site.apply(json_report=False)
    assert run.returncode == 1
    report = site.last_report()
    assert report["status"] == "failed" and report["exit_code"] == 1 and report["resources"] == []
    assert report["error"].startswith("manifests/app.yaml:3: ")


def test_json_output_is_the_stored_report_with_detailed_exitcodes(site: Site) -> None:
    write_site(site)
    run = site.apply("--host", "web1")  # --json --detailed-exitcodes
    assert run.returncode == 2
    assert run.report == site.last_report()
    assert site.last_report()["exit_code"] == 2


def test_json_mode_still_prints_errors_on_stderr(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": "resources:\n  - file: /etc/x\n    contnet: x\n",
        }
    )
    run = site.apply()
    assert run.returncode == 1
    assert run.report is not None and "unknown attribute 'contnet'" in run.report["error"]
    assert "manifests/app.yaml:3" in run.stderr
