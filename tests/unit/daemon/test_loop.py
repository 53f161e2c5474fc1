"""The daemon on schedule's cadence, with its clocks and random source given through the cadence's seam."""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from agent.daemon.cadence import Clocks
from agent.daemon.loop import Daemon, Outcome, delay_bounds


class FakeTime:
    """A wall clock and a steady clock that sleeping moves together; `step` moves the wall clock alone."""

    def __init__(self) -> None:
        self.wall = datetime(2024, 3, 4, 12, 0, 0)  # a Monday
        self.steady = 1000.0

    def clocks(self, seed: int = 0) -> Clocks:
        return Clocks(wall=lambda: self.wall, steady=lambda: self.steady, rng=random.Random(seed))

    def sleep(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.steady += seconds

    def step(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)


def serve(fake: FakeTime, codes: list[int], timing: tuple[int, int], **kwargs: object) -> list[float]:
    """The steady times at which each run started, for runs returning `codes`."""
    outcomes = iter(codes)
    starts: list[float] = []

    def once(at: datetime) -> Outcome:
        starts.append(fake.steady)
        return Outcome(next(outcomes))

    Daemon(once, lambda: timing, clocks=fake.clocks(), sleep=fake.sleep, **kwargs).serve(runs=len(codes))  # type: ignore[arg-type]
    return starts


def test_delay_bounds_are_interval_plus_splay() -> None:
    assert delay_bounds(0, 1800, 300) == (1800, 2100)


def test_backoff_after_thousands_of_failures_is_still_the_interval() -> None:
    assert delay_bounds(5000, 1800, 0) == (1800, 1800)


def test_backoff_doubles_and_is_capped_at_the_interval_with_half_as_splay() -> None:
    assert [delay_bounds(n, 1800, 0)[0] for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]
    assert delay_bounds(1, 1800, 300) == (30, 45)


def test_the_first_run_is_within_the_splay_then_every_interval_within_the_splay() -> None:
    fake = FakeTime()
    starts = serve(fake, [0] * 20, (600, 120))
    assert 1000 <= starts[0] <= 1121
    gaps = [b - a for a, b in pairwise(starts)]
    assert all(600 <= gap <= 721 for gap in gaps), gaps
    assert max(gaps) - min(gaps) > 30  # the splay is used, not only its bounds


def test_backs_off_after_failures_and_recovers() -> None:
    starts = serve(FakeTime(), [0, 1, 1, 0, 0], (600, 0))
    assert starts[0] == pytest.approx(1000.0, abs=1)  # without a splay, the first run is at once
    assert [round(b - a) for a, b in pairwise(starts)] == [600, 30, 60, 600]


def test_sighup_reloads_the_timing() -> None:
    fake = FakeTime()
    timings = iter([(600, 0), (60, 0)])
    starts: list[float] = []
    daemon: Daemon

    def once(at: datetime) -> Outcome:
        starts.append(fake.steady)
        daemon.reload = len(starts) == 1  # as SIGHUP would, during the first run
        return Outcome(0)

    daemon = Daemon(once, lambda: next(timings), clocks=fake.clocks(), sleep=fake.sleep)
    daemon.serve(runs=3)
    assert [round(b - a) for a, b in pairwise(starts)] == [60, 60]


def test_a_broken_config_on_sighup_keeps_the_old_timing() -> None:
    from agent.errors import ConfigError

    fake = FakeTime()
    calls = iter([(300, 0)])
    log: list[str] = []
    starts: list[float] = []
    daemon: Daemon

    def timing() -> tuple[int, int]:
        try:
            return next(calls)
        except StopIteration:
            raise ConfigError("agent.yaml:3: interval: 'soon' is not a duration") from None

    def once(at: datetime) -> Outcome:
        starts.append(fake.steady)
        daemon.reload = True
        return Outcome(0)

    daemon = Daemon(once, timing, clocks=fake.clocks(), sleep=fake.sleep, log=log.append)
    daemon.serve(runs=3)
    assert [round(b - a) for a, b in pairwise(starts)] == [300, 300]
    assert any("not reloaded: agent.yaml:3" in line for line in log)


def test_a_run_stopped_by_sigterm_ends_the_daemon_cleanly() -> None:
    fake = FakeTime()
    calls = []

    def once(at: datetime) -> Outcome:
        calls.append(at)
        return Outcome(1, interrupted_by=15)

    assert Daemon(once, lambda: (60, 0), clocks=fake.clocks(), sleep=fake.sleep).serve(runs=10) == 0
    assert len(calls) == 1


def test_sigterm_while_waiting_stops_before_the_next_run() -> None:
    fake = FakeTime()
    calls: list[datetime] = []
    daemon: Daemon

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        daemon.stopping = fake.steady > 1100  # SIGTERM arrives while the daemon waits

    daemon = Daemon(lambda at: calls.append(at) or Outcome(0), lambda: (600, 0), clocks=fake.clocks(), sleep=sleep)
    assert daemon.serve() == 0
    assert len(calls) == 1


def test_runs_are_given_the_wall_time_the_windows_are_judged_at() -> None:
    fake = FakeTime()
    seen: list[datetime] = []
    Daemon(lambda at: seen.append(at) or Outcome(0), lambda: (3600, 0), clocks=fake.clocks(), sleep=fake.sleep).serve(
        runs=2
    )
    assert seen[0] == datetime(2024, 3, 4, 12, 0, 0)
    assert abs(seen[1] - datetime(2024, 3, 4, 13, 0, 0)) < timedelta(seconds=2)


@pytest.mark.parametrize("step_s", [86400, -3600, 3600, -86400])
def test_a_wall_clock_step_neither_stalls_nor_repeats_a_run(step_s: int) -> None:
    """The wall clock steps (a day forward, an hour back: NTP, a manual date, DST) 100 s after a run: the
    next run still comes one interval after the last, by the steady clock, and only once."""
    fake = FakeTime()
    starts: list[float] = []
    log: list[str] = []
    stepped = False

    def sleep(seconds: float) -> None:
        nonlocal stepped
        fake.sleep(seconds)
        if not stepped and len(starts) == 1 and fake.steady >= starts[0] + 100:
            stepped = True
            fake.step(step_s)

    def once(at: datetime) -> Outcome:
        starts.append(fake.steady)
        return Outcome(0)

    daemon = Daemon(once, lambda: (600, 0), clocks=fake.clocks(), sleep=sleep, log=log.append)
    daemon.serve(runs=3)
    assert stepped
    assert [round(b - a) for a, b in pairwise(starts)] == [600, 600]
    assert any(f"the wall clock stepped {step_s:+d} s" in line for line in log)


def test_suspend_counts_as_time_passed_and_the_overdue_run_comes_once() -> None:
    """The steady clock is boot time, which counts suspend: a resumed host runs once, at once."""
    fake = FakeTime()
    starts: list[float] = []
    suspended = False

    def sleep(seconds: float) -> None:
        nonlocal suspended
        fake.sleep(seconds)
        if not suspended and len(starts) == 1 and fake.steady >= starts[0] + 100:
            suspended = True
            fake.sleep(8 * 3600)  # both clocks move: eight hours asleep

    def once(at: datetime) -> Outcome:
        starts.append(fake.steady)
        return Outcome(0)

    Daemon(once, lambda: (600, 0), clocks=fake.clocks(), sleep=sleep).serve(runs=3)
    assert [round(b - a) for a, b in pairwise(starts)] == [8 * 3600 + 100, 600]


def test_the_seam_leaves_schedule_on_real_time_outside_a_cadence() -> None:
    import schedule

    job = schedule.Scheduler().every(5).seconds.do(lambda: None)
    assert job.next_run is not None
    assert abs((job.next_run - datetime.now()).total_seconds() - 5) < 2
    assert "schedule" in sys.modules
