"""`tend daemon` with watch: a real daemon, real inotify (watchdog), managed files edited by hand in a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT
from tests.integration.bundles.conftest import HIERA, Site, start_daemon, stop_daemon, wait_for

pytest.importorskip("watchdog")


def _manifest(site: Site) -> str:
    out = site.out
    return f"""resources:
  - file: {out}/app.conf
    content: "A\\n"
  - file: {out}/other.conf
    content: "other\\n"
  - exec: reload
    command: [/bin/sh, -c, "echo reloaded >> {out}/reloads"]
    refreshonly: true
    subscribe: file:{out}/app.conf
"""


def _commit(site: Site, manifest: str) -> None:
    ops = site.keys.ops
    files = {"hiera.yaml": HIERA, "data/common.yaml": "classes: [app]\n", "manifests/app.yaml": manifest}
    site.origin.commit("A", ops, files | {f"keys/admins/{ops.name}.asc": ops.public})


def _watch_reports(site: Site) -> list[dict[str, Any]]:
    folder = site.agent.state / "reports"
    reports = [json.loads(p.read_text()) for p in sorted(folder.glob("0*.json"))]
    return [r for r in reports if r["mode"] == "watch"]


def _first_run_done(site: Site) -> Callable[[], bool]:
    last = site.agent.state / "reports" / "last_run.json"
    return lambda: last.exists() and (site.out / "reloads").exists()


def test_a_hand_edit_is_reverted_with_its_refresh_chain_in_a_watch_report_and_last_run_untouched(site: Site) -> None:
    conf, other, reloads = site.out / "app.conf", site.out / "other.conf", site.out / "reloads"
    _commit(site, _manifest(site))
    config = site.agent.config
    config.write_text(config.read_text() + "interval: 1h\n")
    last = site.agent.state / "reports" / "last_run.json"
    child = start_daemon(site, "--watch")
    try:
        wait_for(_first_run_done(site), child, seconds=60)
        time.sleep(0.5)  # the watches are set up once the run is over
        before = last.read_bytes(), last.stat().st_mtime_ns
        conf.write_text("edited by hand\n")
        wait_for(lambda: conf.read_text() == "A\n" and len(_watch_reports(site)) == 1, child)
        [report] = _watch_reports(site)
        assert reloads.read_text() == "reloaded\n" * 2  # the refresh chain ran again
        statuses = {r["id"]: (r["status"], r["drift"]) for r in report["resources"]}
        assert statuses == {f"file:{conf}": ("changed", True), "exec:reload": ("changed", False)}

        other.unlink()  # rm of a managed file: restored
        wait_for(lambda: other.exists() and len(_watch_reports(site)) == 2, child)
        assert other.read_text() == "other\n"
        assert [r["id"] for r in _watch_reports(site)[1]["resources"]] == [f"file:{other}"]

        for n in range(100):  # a burst: one or a few corrections, not 100
            conf.write_text(f"burst {n}\n")
        wait_for(lambda: conf.read_text() == "A\n", child)
        time.sleep(1.5)  # tend's own writes must cause no further run
        count = len(_watch_reports(site))
        assert 3 <= count <= 5, count
        time.sleep(1.0)
        assert len(_watch_reports(site)) == count
        assert (last.read_bytes(), last.stat().st_mtime_ns) == before  # §8.1: watch reports stand beside it
    finally:
        stdout, stderr = stop_daemon(child)
    assert child.returncode == 0, stderr
    assert "tend: watch: 2 managed paths in 1 watches (0 of them trees; 1 inotify watches)" in stderr
    assert f"watch: file:{conf} changed behind tend's back: correcting" in stderr
    assert stdout.count(f"changed        file:{conf} (content)") >= 2


def test_past_the_inotify_budget_the_daemon_warns_and_keeps_its_timed_runs(site: Site) -> None:
    (site.out / "a").mkdir()
    (site.out / "b").mkdir()
    manifest = f"""resources:
  - file: {site.out}/a/x.conf
    content: "x\\n"
  - file: {site.out}/b/y.conf
    content: "y\\n"
"""
    _commit(site, manifest)
    config = site.agent.config
    config.write_text(config.read_text() + "interval: 1h\nwatch: true\nwatch_budget: {instances: 1, watches: 2}\n")
    last = site.agent.state / "reports" / "last_run.json"
    child = start_daemon(site)
    try:
        wait_for(last.exists, child, seconds=60)
        time.sleep(0.5)
        (site.out / "a" / "x.conf").write_text("edited\n")
        time.sleep(1.5)
    finally:
        _, stderr = stop_daemon(child)
    assert child.returncode == 0, stderr
    assert "tend: warning: watch: the watched trees hold more than 2 directories: falling back to timed runs" in stderr
    assert (site.out / "a" / "x.conf").read_text() == "edited\n"  # left to the next timed run
    assert _watch_reports(site) == []


LAZY = """
import sys
from agent.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(sorted(name for name in ("gnupg", "schedule", "watchdog") if name in sys.modules), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("args", [["--version"], ["apply", "--noop"]], ids=["version", "empty-catalog"])
def test_neither_gnupg_nor_schedule_nor_watchdog_is_imported_for_the_version_or_an_empty_catalog(
    args: list[str], tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "hiera.yaml").write_text(HIERA)
    (repo / "data/common.yaml").write_text("classes: []\n")
    options = [] if args == ["--version"] else ["--repo", str(repo), "--state-dir", str(tmp_path / "s")]
    options += ["--root", str(tmp_path / "root")] if args[0] == "apply" else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    env |= {"TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent/f", "TEND_FACTS_DIR": "/nonexistent/d"}
    done = subprocess.run([sys.executable, "-c", LAZY, *args, *options], cwd=PROJECT, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith(b"[]\n"), done.stderr
