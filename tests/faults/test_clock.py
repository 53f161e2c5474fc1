"""Clock jumps: the daemon's schedule, drift detection and the order of reports.

The daemon runs on a monotonic clock, injected; the tests step it as a suspend or an NTP step would, and
step the wall clock (time.time) under a daemon with its default clock. Runs of tend with the wall clock
set back are simulated in the child process by shifting `datetime.now` in the modules that read it (faketime
is not installed on CI; this shifts exactly what tend reads).
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.daemon.loop import Daemon, Outcome
from tests.conftest import PROJECT
from tests.faults.conftest import Site, tend_env


class FakeClock:
    """A monotonic clock and its sleep: sleeping advances it; `jump` steps it as a suspend would."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def jump(self, seconds: float) -> None:
        self.now += seconds


def test_a_forward_jump_gives_one_run_not_a_burst_and_the_schedule_goes_on() -> None:
    clock, times = FakeClock(), []
    interval = 600.0

    def once() -> Outcome:
        times.append(clock.now)
        return Outcome(0)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(times) == 2 and clock.now - times[-1] <= 1:
            clock.jump(10 * interval)  # the host is suspended through ten runs while the daemon waits

    Daemon(once, lambda: (interval, 0.0), clock=clock, sleep=sleep, rng=random.Random(1)).serve(runs=5)
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    # One run as soon as the host wakes (not ten to catch up), then one every interval again.
    assert gaps == [interval, 10 * interval + 1, interval, interval]


def test_failures_back_off_on_the_monotonic_clock_through_a_jump() -> None:
    clock, times = FakeClock(), []

    def once() -> Outcome:
        times.append(clock.now)
        clock.jump(3600 if len(times) == 1 else 0)
        return Outcome(1)

    Daemon(once, lambda: (1800.0, 0.0), clock=clock, sleep=clock.sleep, rng=random.Random(1)).serve(runs=4)
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    assert gaps == [3600 + 30, 60, 120]  # the back-off (30, 60, 120 s) counts from the end of the run


@pytest.mark.parametrize("step", [-3600.0, 3600.0], ids=["wall-clock-back", "wall-clock-forward"])
def test_a_wall_clock_step_does_not_move_the_default_schedule(monkeypatch: pytest.MonkeyPatch, step: float) -> None:
    """A daemon with its default clock: time.time stepped an hour while it waits for its second run."""
    real = time.time
    starts: list[float] = []

    def once() -> Outcome:
        starts.append(time.monotonic())
        if len(starts) == 1:  # the step comes once the next run is scheduled
            threading.Timer(0.1, lambda: monkeypatch.setattr(time, "time", lambda: real() + step)).start()
        return Outcome(0)

    # 1.5 s: longer than the daemon's one-second naps, so a clock it followed would show within the wait.
    daemon = Daemon(once, lambda: (1.5, 0.0), rng=random.Random(1))
    thread = threading.Thread(target=daemon.serve, kwargs={"runs": 2}, daemon=True)
    thread.start()
    thread.join(10)
    daemon.stopping = True
    assert not thread.is_alive(), "the daemon's schedule followed the wall clock (a step back)"
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 1 and 1.45 < gaps[0] < 4, f"the second run came {gaps} s after the first, not 1.5 s"


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
