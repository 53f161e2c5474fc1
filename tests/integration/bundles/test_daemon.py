"""`tend daemon` through the CLI: it pulls and converges at once, says when it runs next, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import PROJECT
from tests.integration.bundles.conftest import Site, control_repo


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
