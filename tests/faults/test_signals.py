"""SIGTERM and SIGINT mid-run: the resource in hand finishes, the rest is skipped and reported, the lock is freed."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from agent.system import RunLock
from tests.faults.conftest import Site, finish, wait_for


def slow_site(site: Site, out: Path) -> None:
    """Three files, an exec that takes a second, three more files."""
    files = lambda names: "".join(f"  - file: {out}/{n}\n    content: {n}\n" for n in names)  # noqa: E731
    site.manifest(
        f"""resources:
  - file: {out}
    ensure: directory
{files(["a", "b", "c"])}  - exec: slow
    command: [/bin/sh, -c, 'touch "$1/started"; sleep 1; touch "$1/finished"', sh, {out}]
    creates: {out}/finished
{files(["d", "e", "f"])}"""
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_finishes_the_resource_in_hand_and_skips_the_rest(
    host_site: Site, tmp_path: Path, signum: signal.Signals
) -> None:
    out = tmp_path / "out"
    slow_site(host_site, out)
    child = host_site.start()
    wait_for((out / "started").exists, what="the slow exec to start")
    child.send_signal(signum)
    run = finish(child)

    assert run.returncode == 128 + signum, run
    assert (out / "finished").exists(), "the exec in hand was not allowed to finish"
    assert run.statuses[f"file:{out}/c"] == "changed"
    assert run.statuses["exec:slow"] == "changed"
    for name in "def":
        assert run.result(f"file:{out}/{name}") | {"duration_ms": 0} == {
            "id": f"file:{out}/{name}",
            "status": "skipped",
            "changes": [],
            "sensitive": False,
            "drift": False,
            "duration_ms": 0,
            "error": "interrupted",
        }
        assert not (out / name).exists()
    assert run.report is not None and run.report["interrupted"] is True and run.report["status"] == "failed"
    # The same report is stored, and the lock is free (and names nobody).
    stored = json.loads((host_site.state / "reports" / "last_run.json").read_text())
    assert stored["run_id"] == run.report["run_id"] and stored["interrupted"] is True
    lock = RunLock(host_site.state / "lock")
    lock.acquire()
    lock.release()
    assert (host_site.state / "lock").read_text() == ""

    # The next run converges the rest, and no refresh or drift is invented for what was skipped.
    rest = host_site.apply()
    assert rest.returncode == 2, rest
    assert {rid for rid, status in rest.statuses.items() if status == "changed"} == {f"file:{out}/{n}" for n in "def"}
    assert host_site.apply().returncode == 0


def test_a_signal_during_the_compile_changes_nothing(host_site: Site, tmp_path: Path) -> None:
    """A stop asked before the first resource: every resource is skipped, nothing is written."""
    out = tmp_path / "out"
    slow_site(host_site, out)
    # A data file big enough that the compile takes a while, so the signal lands in it.
    host_site.write({"data/common.yaml": "classes: [site]\n" + "".join(f"k{i}: {i}\n" for i in range(60000))})
    child = host_site.start()
    wait_for(lambda: (host_site.state / "lock").exists() and (host_site.state / "lock").read_text(),
             what="the run to take the lock")  # fmt: skip
    child.send_signal(signal.SIGTERM)
    run = finish(child)
    assert run.returncode == 128 + signal.SIGTERM, run
    # Landing in the compile, the signal stops it (no resource is reported); after it, each is skipped.
    assert set(run.statuses.values()) <= {"skipped"}, run.statuses
    assert not out.exists()


def test_a_signal_stops_a_long_compile_at_once(host_site: Site, tmp_path: Path) -> None:
    """A template that keeps the compile busy for a minute: SIGTERM ends it within seconds, nothing written."""
    out = tmp_path / "out"
    host_site.write(
        {"templates/busy.j2": "{% for i in range(900) %}{% for j in range(900) %}{% endfor %}{% endfor %}busy\n"}
    )
    host_site.manifest(f"""resources:
  - file: {out}/first
    content: x
  - file: "{out}/busy-{{{{ item }}}}"
    loop: {list(range(300))}
    template: busy.j2
""")
    child = host_site.start()
    wait_for(lambda: (host_site.state / "lock").exists() and (host_site.state / "lock").read_text(),
             what="the run to take the lock")  # fmt: skip
    signalled = time.monotonic()
    child.send_signal(signal.SIGTERM)
    run = finish(child)
    assert time.monotonic() - signalled < 15, "the compile went on after SIGTERM"
    assert run.returncode == 128 + signal.SIGTERM, run
    assert "Traceback" not in run.stderr
    assert run.report is not None and run.report["interrupted"] is True and run.report["resources"] == []
    assert "interrupted" in run.report["error"]
    assert not out.exists()
