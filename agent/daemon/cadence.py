"""The daemon's cadence on the `schedule` library, with schedule's clock and random source behind one seam.

The seam: schedule reads `datetime.datetime.now()` and `random.randint` itself (in 1.1.0, Debian 12's, as
in later releases), so this module gives the schedule module, once, a `datetime` and a `random` whose
`now()` and `randint()` ask the `Clocks` of the `Cadence` being called. Outside a `Cadence` call they are
the real ones. Every call into schedule goes through `Cadence`, which is where tests give their clocks;
nothing else patches schedule.

Steps of the wall clock (NTP, a manual `date`, DST; schedule reads local wall time) are told by comparing
that same wall clock with the boot-time clock between ticks: a step moves the pending run by the step, so
it neither stalls the daemon nor repeats a run. The boot-time clock counts suspend, so a host resumed
after the run was due runs once, at once.
"""

from __future__ import annotations

import datetime
import random
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import schedule

STEP_TOLERANCE_S = 2.0  # a tick sleeps at most a second; anything beyond this between the clocks is a step


def _boot_time() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


@dataclass(frozen=True, slots=True)
class Clocks:
    """The local wall clock schedule reads, a steady clock to tell its steps, and the splay's random source."""

    wall: Callable[[], datetime.datetime] = datetime.datetime.now
    steady: Callable[[], float] = _boot_time
    rng: random.Random = field(default_factory=random.Random)


_IN_EFFECT: ContextVar[Clocks | None] = ContextVar("tend_schedule_clocks", default=None)


class _Datetime(datetime.datetime):
    """schedule's `datetime.datetime`: `now()` is the wall clock of the Cadence being called."""

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> Any:
        clocks = _IN_EFFECT.get()
        if clocks is None or tz is not None:
            return datetime.datetime.now(tz)
        return clocks.wall()


def _randint(low: int, high: int) -> int:
    clocks = _IN_EFFECT.get()
    return (clocks.rng if clocks is not None else random).randint(low, high)


def _install_seam() -> None:
    if getattr(getattr(schedule, "datetime", None), "datetime", None) is _Datetime:
        return
    # schedule reads `datetime.datetime.now()` and `random.randint` through its module globals.
    setattr(schedule, "datetime", types.SimpleNamespace(**{**vars(datetime), "datetime": _Datetime}))  # noqa: B010
    setattr(schedule, "random", types.SimpleNamespace(randint=_randint))  # noqa: B010


_install_seam()


class Cadence:
    """One job on a `schedule.Scheduler`: every `low` to `high` seconds (schedule's `every(a).to(b)`)."""

    def __init__(self, action: Callable[[], None], clocks: Clocks | None = None):
        self.action = action
        self.clocks = clocks or Clocks()
        self.scheduler = schedule.Scheduler()
        self.bounds: tuple[int, int] | None = None
        self._mark = (self.clocks.wall(), self.clocks.steady())

    @contextmanager
    def _clocked(self) -> Iterator[None]:
        token = _IN_EFFECT.set(self.clocks)
        try:
            yield
        finally:
            _IN_EFFECT.reset(token)

    def plan(self, low: int, high: int, *, keep_earlier: bool = False, first_within: int | None = None) -> None:
        """The job again, next run in `low`..`high` s from now (schedule runs nothing more often than every
        second); sooner when the pending run was (`keep_earlier`), or at once up to `first_within` s."""
        low = max(1, low)
        high = max(low, high)
        pending = self.scheduler.next_run if self.scheduler.jobs else None
        with self._clocked():
            self.scheduler.clear()
            job = self.scheduler.every(low)
            (job.to(high) if high > low else job).seconds.do(self.action)
            if first_within is not None:
                job.next_run = self.clocks.wall() + datetime.timedelta(seconds=self.clocks.rng.randint(0, first_within))
        if keep_earlier and pending is not None and job.next_run is not None and pending < job.next_run:
            job.next_run = pending
        self.bounds = (low, high)
        self.remark()

    def remark(self) -> None:
        """Both clocks read now, as the point the next step is measured from."""
        self._mark = (self.clocks.wall(), self.clocks.steady())

    def step(self) -> float:
        """Seconds the wall clock stepped since the last mark (0 when within tolerance); the pending run is
        moved by as much, so the time left to it is what it was."""
        wall, steady = self.clocks.wall(), self.clocks.steady()
        then_wall, then_steady = self._mark
        self._mark = (wall, steady)
        stepped = (wall - then_wall).total_seconds() - (steady - then_steady)
        if abs(stepped) <= STEP_TOLERANCE_S:
            return 0.0
        for job in self.scheduler.jobs:
            if job.next_run is not None:
                job.next_run += datetime.timedelta(seconds=stepped)
        return stepped

    def idle_seconds(self) -> float:
        with self._clocked():
            idle = self.scheduler.idle_seconds
        return float(idle) if idle is not None else float("inf")

    def run_pending(self) -> None:
        """Run the job when it is due; schedule then plans its next run within the bounds."""
        with self._clocked():
            self.scheduler.run_pending()
        self.remark()
