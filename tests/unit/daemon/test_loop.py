"""The daemon's schedule with an injected clock and random source: no sleeping, no wall clock."""

from __future__ import annotations

import random
from itertools import pairwise

from agent.daemon.loop import Daemon, Outcome, next_delay


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_delay_is_interval_plus_splay() -> None:
    rng = random.Random(1)
    delays = [next_delay(0, 1800, 300, rng) for _ in range(200)]
    assert all(1800 <= d <= 2100 for d in delays) and max(delays) - min(delays) > 100


def test_backoff_doubles_and_is_capped_at_the_interval() -> None:
    rng = random.Random(0)
    assert [round(next_delay(n, 1800, 0, rng)) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]


def test_backoff_after_thousands_of_failures_is_still_the_interval() -> None:
    assert next_delay(5000, 1800, 0, random.Random(0)) == 1800


def test_runs_on_schedule_and_backs_off_after_failures() -> None:
    clock = FakeClock()
    codes = iter([0, 1, 1, 0, 0])
    starts: list[float] = []

    def once() -> Outcome:
        starts.append(clock.now)
        return Outcome(next(codes))

    Daemon(once, lambda: (600.0, 0.0), clock=clock, sleep=clock.sleep, rng=random.Random(0)).serve(runs=5)
    gaps = [round(b - a) for a, b in pairwise(starts)]
    assert gaps == [600, 30, 60, 600]


def test_sighup_reloads_the_timing() -> None:
    clock = FakeClock()
    timings = iter([(600.0, 0.0), (60.0, 0.0)])
    starts: list[float] = []
    daemon: Daemon

    def once() -> Outcome:
        starts.append(clock.now)
        daemon.reload = len(starts) == 1  # as SIGHUP would, during the first run
        return Outcome(0)

    daemon = Daemon(once, lambda: next(timings), clock=clock, sleep=clock.sleep, rng=random.Random(0))
    daemon.serve(runs=3)
    assert [round(b - a) for a, b in pairwise(starts)] == [600, 60]


def test_a_run_stopped_by_sigterm_ends_the_daemon_cleanly() -> None:
    clock = FakeClock()
    calls = []

    def once() -> Outcome:
        calls.append(1)
        return Outcome(1, interrupted_by=15)

    assert Daemon(once, lambda: (60.0, 0.0), clock=clock, sleep=clock.sleep).serve(runs=10) == 0
    assert calls == [1]


def test_a_wall_clock_jump_changes_nothing() -> None:
    """The loop reads only the monotonic clock it is given; the wall clock is never consulted."""
    clock = FakeClock()
    starts: list[float] = []
    Daemon(lambda: starts.append(clock.now) or Outcome(0), lambda: (300.0, 0.0), clock=clock, sleep=clock.sleep).serve(
        runs=3
    )
    assert [round(b - a) for a, b in pairwise(starts)] == [300, 300]
