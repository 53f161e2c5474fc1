"""`tend daemon` through the CLI: cadence, run windows (which bind `tend run` too), SIGHUP, SIGTERM (its lazy
imports: test_watch.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

from agent.settings import DAY_NAMES
from tests.conftest import PROJECT
from tests.integration.bundles.conftest import Site, control_repo, start_daemon, stop_daemon, wait_for


def test_the_daemon_runs_the_cycle_then_stops_cleanly_on_sigterm(site: Site) -> None:
    a = site.origin.commit("A", site.keys.ops, control_repo(site.out, "A\n", admins=(site.keys.ops,)))
    config = site.agent.config
    config.write_text(config.read_text() + "interval: 1h\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    env |= {"TEND_FACTS_FILE": "/nonexistent/f", "TEND_FACTS_DIR": "/nonexistent/d"}
    argv = [sys.executable, "-m", "agent", "daemon", "--config", str(config), "--state-dir", str(site.agent.state)]
    child = subprocess.Popen(argv, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = site.agent.state / "reports" / "last_run.json"
    try:
        deadline = time.monotonic() + 60
        while not last.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the run's last lines
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, stderr
    assert f"tend: deployed {a[:12]}" in stderr
    assert "tend: run exited 0; next in 3600 s" in stderr
    assert f"changed        file:{site.out}/app.conf (ensure)" in stdout
    assert json.loads(last.read_text())["bundle"]["commit"] == a
    assert (site.out / "app.conf").read_text() == "A\n"


def _closed_window() -> str:
    """A window on a day three days away: never open during the test."""
    day = DAY_NAMES[(datetime.now().weekday() + 3) % 7]
    return f'windows: [{{days: {day}, from: "00:00", to: "00:01"}}]\n'


def _reports(site: Site) -> list[dict[str, Any]]:
    folder = site.agent.state / "reports"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("0*.json"))] if folder.is_dir() else []


def test_tend_run_outside_the_windows_is_noop_lists_what_is_pending_and_keeps_last_run(site: Site) -> None:
    ops, conf = site.keys.ops, site.out / "app.conf"
    site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    config = site.agent.config
    trusted = config.read_text()
    config.write_text(trusted + 'windows: [{days: "*", from: "00:00", to: "24:00"}]\n')
    code, applied, stderr = site.agent.json("run")
    assert code == 0 and applied["mode"] == "apply" and conf.read_text() == "A\n", stderr

    site.origin.commit("B", ops, control_repo(site.out, "B\n", admins=(ops,)))
    config.write_text(trusted + _closed_window())
    code, report, stderr = site.agent.json("run")
    assert code == 0, stderr
    assert "outside the run windows (the next opens " in stderr
    assert f"pending until a window opens: file:{conf}" in stderr
    assert report["mode"] == "noop"
    assert [(r["id"], r["status"]) for r in report["resources"]] == [(f"file:{conf}", "would-change")]
    assert conf.read_text() == "A\n"
    last = json.loads((site.agent.state / "reports" / "last_run.json").read_text())
    assert last["run_id"] == applied["run_id"]  # the noop report is stored beside it, not over it
    assert (site.agent.state / "reports" / f"{report['run_id']}.json").is_file()


def test_a_failed_pull_outside_the_windows_still_exits_1(site: Site) -> None:
    ops = site.keys.ops
    site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    config = site.agent.config
    trusted = config.read_text()
    assert site.agent.json("run")[0] == 0 and (site.out / "app.conf").read_text() == "A\n"
    config.write_text(trusted.replace(f"git: {site.origin.path}", "git: /nonexistent/origin") + _closed_window())
    code, report, stderr = site.agent.json("run")
    assert code == 1, stderr
    assert "pull: " in stderr and report["mode"] == "noop"


def test_the_daemon_is_noop_outside_its_windows_and_sighup_reloads_them(site: Site) -> None:
    ops, conf = site.keys.ops, site.out / "app.conf"
    site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    config = site.agent.config
    trusted = config.read_text()
    config.write_text(trusted + "interval: 1h\n" + _closed_window())
    child = start_daemon(site)
    try:
        wait_for(lambda: len(_reports(site)) == 1, child)
        assert _reports(site)[0]["mode"] == "noop" and not conf.exists()
        config.write_text(trusted + "interval: 2s\n")
        child.send_signal(signal.SIGHUP)
        wait_for(lambda: conf.exists() and any(r["mode"] == "apply" for r in _reports(site)), child)
    finally:
        _, stderr = stop_daemon(child)
    assert child.returncode == 0, stderr
    assert "outside the run windows" in stderr and f"pending until a window opens: file:{conf}" in stderr
    assert "reloaded the configuration: every 2 s, splay 0 s" in stderr
    assert conf.read_text() == "A\n"


def test_sigterm_mid_run_finishes_the_resource_in_hand_and_stops_the_daemon(site: Site) -> None:
    ops, started, after = site.keys.ops, site.out / "started", site.out / "after"
    manifest = f"""resources:
  - exec: slow
    command: [/bin/sh, -c, "touch {started}; sleep 2; touch {site.out}/slow-done"]
    creates: {site.out}/slow-done
  - file: {after}
    content: "after\\n"
    require: exec:slow
"""
    files = control_repo(site.out, "", admins=(ops,)) | {"manifests/app.yaml": manifest}
    site.origin.commit("A", ops, files)
    config = site.agent.config
    config.write_text(config.read_text() + "interval: 1h\n")
    child = start_daemon(site)
    try:
        wait_for(started.exists, child)
    finally:
        _, stderr = stop_daemon(child)
    assert child.returncode == 0, stderr
    [report] = _reports(site)
    assert report["interrupted"] is True
    assert not after.exists()
    assert "next in" not in stderr  # no further run was planned
