"""One run at a time: a second run fails naming the holder, or waits for it with --wait."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from agent.system import RunLock
from tests.integration.engine.conftest import Site


def write_site(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": "resources:\n  - file: /etc/app.conf\n    content: x\n",
        }
    )
    site.state.mkdir(mode=0o700)


def test_a_second_run_fails_and_names_the_holder(site: Site) -> None:
    write_site(site)
    lock = RunLock(site.state / "lock").acquire()
    try:
        run = site.apply(json_report=False)
    finally:
        lock.release()
    assert run.returncode == 1
    assert run.stdout == ""
    assert f"another tend run holds the lock (pid {os.getpid()}, since " in run.stderr
    assert "use --wait" in run.stderr and str(site.state / "lock") in run.stderr
    assert not site.path("/etc/app.conf").exists()
    assert not (site.state / "reports").exists()
    # Once released, a run goes ahead.
    assert site.apply().returncode == 2


def test_wait_proceeds_after_release(site: Site) -> None:
    write_site(site)
    lock = RunLock(site.state / "lock").acquire()
    with ThreadPoolExecutor(1) as pool:
        try:
            waiting = pool.submit(site.apply, "--wait")
            time.sleep(0.6)
            assert not waiting.done()
            assert not site.path("/etc/app.conf").exists()
        finally:
            lock.release()
        run = waiting.result(timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert site.path("/etc/app.conf").read_text() == "x"
