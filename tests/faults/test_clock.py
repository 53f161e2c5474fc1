"""Clock jumps: the daemon's schedule, drift detection and the order of reports.

The daemon keeps schedule's cadence on the local wall clock and tells its steps from the boot-time clock;
both come through the cadence's one seam (agent.daemon.cadence.Clocks), where the tests step them as a
suspend (both move) or an NTP step (the wall clock alone) would. Runs of tend with the wall clock set back
are simulated in the child process by shifting `datetime.now` in the modules that read it (faketime is
not installed on CI; this shifts exactly what tend reads).
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agent.daemon.cadence import Clocks
from agent.daemon.loop import Daemon, Outcome
from tests.conftest import PROJECT
from tests.faults.conftest import Site, tend_env


class FakeClocks:
    """A wall clock and a boot-time clock with their sleep: sleeping and `suspend` advance both."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 3, 29, 0, 30)
        self.boot = 1000.0

    def clocks(self) -> Clocks:
        return Clocks(wall=lambda: self.wall, steady=lambda: self.boot, rng=random.Random(1))

    def sleep(self, seconds: float) -> None:
        self.suspend(seconds)

    def suspend(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.boot += seconds


def test_a_forward_jump_gives_one_run_not_a_burst_and_the_schedule_goes_on() -> None:
    clock, times = FakeClocks(), []
    interval = 600

    def once(at: datetime) -> Outcome:
        times.append(clock.boot)
        return Outcome(0)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(times) == 2 and clock.boot - times[-1] <= 1:
            clock.suspend(10 * interval)  # the host is suspended through ten runs while the daemon waits

    Daemon(once, lambda: (interval, 0), clocks=clock.clocks(), sleep=sleep).serve(runs=5)
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    # One run as soon as the host wakes (not ten to catch up), then one every interval again.
    assert gaps == [interval, 10 * interval + 1, interval, interval]


def test_failures_back_off_through_a_jump() -> None:
    clock, times = FakeClocks(), []

    def once(at: datetime) -> Outcome:
        times.append(clock.boot)
        clock.suspend(3600 if len(times) == 1 else 0)
        return Outcome(1)

    Daemon(once, lambda: (1800, 0), clocks=clock.clocks(), sleep=clock.sleep).serve(runs=4)
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    assert gaps == [3600 + 30, 60, 120]  # the back-off (30, 60, 120 s) counts from the end of the run


@pytest.mark.parametrize("step", [-3600.0, 3600.0], ids=["wall-clock-back", "wall-clock-forward"])
def test_a_wall_clock_step_does_not_move_the_schedule_in_real_time(step: float) -> None:
    """Real sleeping and the real boot-time clock; the wall clock schedule reads steps an hour while the
    daemon waits for its second run."""
    offset = timedelta()
    starts: list[float] = []

    def once(at: datetime) -> Outcome:
        nonlocal offset
        starts.append(time.monotonic())
        if len(starts) == 1:  # the step comes once the next run is scheduled

            def stepped() -> None:
                nonlocal offset
                offset = timedelta(seconds=step)

            threading.Timer(0.1, stepped).start()
        return Outcome(0)

    # 2 s: longer than the daemon's one-second naps, so a clock it followed would show within the wait.
    clocks = Clocks(wall=lambda: datetime.now() + offset)
    daemon = Daemon(once, lambda: (2, 0), clocks=clocks)
    thread = threading.Thread(target=daemon.serve, kwargs={"runs": 2}, daemon=True)
    thread.start()
    thread.join(10)
    daemon.stopping = True
    assert not thread.is_alive(), "the daemon's schedule followed the wall clock (a step back)"
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 1 and 1.95 < gaps[0] < 4, f"the second run came {gaps} s after the first, not 2 s"


def test_a_dst_change_neither_stalls_nor_repeats() -> None:
    """Local wall time falls back an hour at night (the end of summer time): the schedule keeps its pace."""
    clock, times = FakeClocks(), []

    def once(at: datetime) -> Outcome:
        times.append(clock.boot)
        return Outcome(0)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(times) == 1 and round(clock.boot - times[0]) == 300:
            clock.wall -= timedelta(hours=1)

    Daemon(once, lambda: (1800, 0), clocks=clock.clocks(), sleep=sleep).serve(runs=3)
    assert [round(b - a) for a, b in itertools.pairwise(times)] == [1800, 1800]


# --- runs with the wall clock set back -----------------------------------------------------------------------

SHIFTED = """
import datetime as d, sys
offset = d.timedelta(seconds=float(sys.argv[1]))

class Shifted(d.datetime):
    @classmethod
    def now(cls, tz=None):
        return d.datetime.now(tz) + offset

import agent.run.converge, agent.runner.apply
agent.run.converge.datetime = Shifted
agent.runner.apply.datetime = Shifted
from agent.cli.main import main
raise SystemExit(main(sys.argv[2:]))
"""


def run_at(site: Site, offset_s: float, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`tend apply` with the wall clock `offset_s` seconds away from the real one."""
    argv = site.argv("apply", *args) + (["--config", str(config)] if config else [])
    return subprocess.run([sys.executable, "-c", SHIFTED, str(offset_s), *argv], cwd=PROJECT, env=tend_env(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def report_list(site: Site, config: Path | None = None) -> list[str]:
    argv = ["report", "list", "--state-dir", str(site.state)] + (["--config", str(config)] if config else [])
    done = subprocess.run([sys.executable, "-m", "agent", *argv], cwd=PROJECT, env=tend_env(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line.split()[0] for line in done.stdout.splitlines()]


def clock_site(site: Site, tmp_path: Path) -> Path:
    site.root = None
    conf = tmp_path / "app.conf"
    site.manifest(f"resources:\n  - file: {conf}\n    content: managed\n")
    return conf


def test_drift_is_detected_across_a_wall_clock_step_back(site: Site, tmp_path: Path) -> None:
    conf = clock_site(site, tmp_path)
    first = run_at(site, 0)
    assert first.returncode == 2, first.stderr
    conf.write_text("by hand\n")
    back = run_at(site, -3600)
    assert back.returncode == 2, back.stderr
    assert json.loads(back.stdout)["resources"][0]["drift"] is True
    again = run_at(site, -3600)
    assert again.returncode == 0, again.stderr
    # `report last` is the run that ran last, whatever its clock said.
    assert site.last_report()["run_id"] == json.loads(again.stdout)["run_id"]


def test_report_list_keeps_run_order_across_a_wall_clock_step_back(site: Site, tmp_path: Path) -> None:
    clock_site(site, tmp_path)
    ran = [json.loads(run_at(site, offset).stdout)["run_id"] for offset in (0, -3600, -3590)]
    assert report_list(site) == ran


def test_pruning_keeps_the_newest_runs_across_a_wall_clock_step_back(site: Site, tmp_path: Path) -> None:
    clock_site(site, tmp_path)
    config = tmp_path / "agent.yaml"
    config.write_text("report_retention: 2\n")
    ran = [json.loads(run_at(site, offset, config=config).stdout)["run_id"] for offset in (0, -3600, -3590)]
    assert set(report_list(site, config)) == set(ran[1:]), "a newer report was pruned, an older one kept"
