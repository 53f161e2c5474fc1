"""Two runs at once on one state directory: one converges, the other fails naming the holder or waits."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from pathlib import Path

from tests.faults.conftest import Site, finish, kill_orphans, wait_for


def slow_site(site: Site, out: Path, seconds: float = 1.0) -> None:
    """A file; an exec that appends to a log (two converges would show as two lines) and sleeps; a file."""
    site.manifest(
        f"""resources:
  - file: {out}
    ensure: directory
  - file: {out}/a
    content: a
  - exec: slow
    command: [/bin/sh, -c, 'echo "$$" >> "$1/ran"; touch "$1/started"; sleep {seconds}', sh, {out}]
    creates: {out}/ran
  - file: {out}/b
    content: b
"""
    )


def holder_pid(site: Site) -> str:
    path = site.state / "lock"
    return path.read_text().split()[0] if path.exists() and path.read_text() else ""


def test_two_runs_at_once_one_converges_the_other_names_the_holder(host_site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    slow_site(host_site, out)
    first, second = host_site.start(), host_site.start()
    runs = {first.pid: finish(first), second.pid: finish(second)}
    codes = sorted(run.returncode for run in runs.values())
    assert codes == [1, 2], {pid: str(run) for pid, run in runs.items()}
    (winner,) = [pid for pid, run in runs.items() if run.returncode == 2]
    (loser,) = [run for run in runs.values() if run.returncode == 1]
    assert f"another tend run holds the lock (pid {winner}, since " in loser.stderr
    assert "use --wait" in loser.stderr
    assert loser.stdout == ""  # no report printed, none stored
    assert (out / "ran").read_text().count("\n") == 1
    reports = list((host_site.state / "reports").glob("[0-9]*.json"))
    assert len(reports) == 1 and json.loads(reports[0].read_text())["status"] == "changed"


def test_wait_queues_behind_the_holder_then_finds_nothing_to_do(host_site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    slow_site(host_site, out)
    first = host_site.start()
    wait_for((out / "started").exists, what="the first run to reach its exec")
    waiting = host_site.start("--wait")
    with contextlib.suppress(subprocess.TimeoutExpired):
        waiting.wait(0.5)
    assert waiting.poll() is None, "--wait did not wait for the holder"
    assert finish(first).returncode == 2
    queued = finish(waiting)
    assert queued.returncode == 0, queued  # it ran after the first one, and found everything in sync
    assert (out / "ran").read_text().count("\n") == 1


def test_a_lock_left_by_a_killed_run_is_taken_over(host_site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    slow_site(host_site, out, seconds=30)
    child = host_site.start()
    wait_for((out / "started").exists, what="the run to reach its exec")
    assert holder_pid(host_site) == str(child.pid)
    child.send_signal(signal.SIGKILL)
    child.wait()
    # The dead run's pid is still written in the lock file; the flock died with it.
    assert holder_pid(host_site) == str(child.pid)
    kill_orphans(str(out))  # its exec, still sleeping
    run = host_site.apply()
    assert run.returncode == 2, run
    assert run.statuses == {f"file:{out}": "unchanged", f"file:{out}/a": "unchanged", "exec:slow": "unchanged",
                            f"file:{out}/b": "changed"}  # fmt: skip
    assert holder_pid(host_site) == ""
