"""What every workload shares: its settings, timing (warm-up, repetitions, median/min/max), peak RSS, a result."""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Settings:
    """How a run of the benchmarks was asked for: `quick` uses small sizes (a smoke test, not a measurement)."""

    quick: bool = False
    repeat: int = 5
    warmup: int = 1
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds taken by each measured repetition (warm-ups excluded)."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)


def measure(
    run: Callable[..., object],
    *,
    repeat: int,
    warmup: int = 1,
    setup: Callable[[], Any] | None = None,
) -> Timing:
    """Time `run()` (or `run(setup())`, setup untimed) `warmup + repeat` times; keep the last `repeat`."""
    _check(repeat, warmup)
    times = [_once(run, setup) for _ in range(warmup + repeat)]
    return Timing(tuple(times[warmup:]))


def compare(
    run: Callable[..., object],
    baseline: Callable[[], object],
    *,
    repeat: int,
    warmup: int = 1,
    setup: Callable[[], Any] | None = None,
) -> tuple[Timing, Timing]:
    """Time `run` (set up by `setup`, as in measure) and `baseline` in alternation, so that both see the same
    machine: a slower stretch (another process, a frequency change) weighs on both and the ratio holds."""
    _check(repeat, warmup)
    runs: list[float] = []
    baselines: list[float] = []
    for iteration in range(warmup + repeat):
        if iteration % 2:
            baselines.append(_once(baseline, None))
            runs.append(_once(run, setup))
        else:
            runs.append(_once(run, setup))
            baselines.append(_once(baseline, None))
    return Timing(tuple(runs[warmup:])), Timing(tuple(baselines[warmup:]))


def _check(repeat: int, warmup: int) -> None:
    if repeat < 1 or warmup < 0:
        raise ValueError("repeat must be at least 1 and warmup at least 0")


def _once(run: Callable[..., object], setup: Callable[[], Any] | None) -> float:
    argument = setup() if setup is not None else None
    gc.collect()  # every repetition starts with no garbage left by the one before
    start = time.perf_counter()
    if setup is not None:
        run(argument)
    else:
        run()
    return time.perf_counter() - start


def peak_rss_kib(*, children: bool = False) -> int:
    """The peak resident set size so far of this process (or of its waited-for children), in KiB (Linux)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss


@dataclass(frozen=True, slots=True)
class Goal:
    """A target judged on the figures of this run: what it asks, what was measured, whether it was met (None:
    not measured, a peer missing), and, when missed or not measured, why (the figure that decided it)."""

    target: str
    measured: str
    met: bool | None
    cause: str = ""

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else ("ok" if self.met else "MISSED")

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "measured": self.measured, "met": self.met, "cause": self.cause}


def ratio_goal(target: str, limit: float, tend: Timing, other: Timing | None, other_name: str) -> Goal:
    """tend's median time at most `limit` times `other`'s (both from one rotation); None when not measured."""
    if other is None:
        return Goal(target, f"{other_name} not measured", None, f"{other_name} is not installed")
    ratio = tend.median / other.median
    measured = f"{ratio:.2f}x ({_ms(tend.median)} ms vs {_ms(other.median)} ms)"
    return Goal(target, measured, ratio <= limit, "" if ratio <= limit else f"{ratio:.2f}x > {limit}x")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:.3g}"


@dataclass(frozen=True, slots=True)
class Result:
    """One figure. `rate` figures are `ops` operations per repetition, reported per second; `time` figures are
    one operation per repetition, reported in milliseconds. `ratio` is tend's median time over the baseline's."""

    workload: str
    name: str
    kind: str  # "rate" or "time"
    ops: int
    timing: Timing
    baseline: Timing
    baseline_name: str
    target: float | None = None  # the least acceptable rate (ops/s), for rate figures
    rss_kib: int = 0
    note: str = ""
    goals: tuple[Goal, ...] = ()

    @property
    def ratio(self) -> float:
        return self.timing.median / self.baseline.median if self.baseline.median > 0 else float("inf")

    def figures(self, timing: Timing) -> tuple[float, float, float]:
        """(median, worst, best) in the figure's unit: ops/s for rates, ms for times."""
        if self.kind == "rate":
            return self.ops / timing.median, self.ops / timing.max, self.ops / timing.min
        return timing.median * 1000, timing.max * 1000, timing.min * 1000

    @property
    def unit(self) -> str:
        return "lookups/s" if self.kind == "rate" else "ms"

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.figures(self.timing)[0] >= self.target

    def to_json(self) -> dict[str, Any]:
        median, worst, best = self.figures(self.timing)
        base_median, base_worst, base_best = self.figures(self.baseline)
        return {
            "workload": self.workload,
            "name": self.name,
            "unit": self.unit,
            "ops_per_repetition": self.ops,
            "median": median,
            "min": min(worst, best),
            "max": max(worst, best),
            "times_s": list(self.timing.times),
            "baseline": {
                "name": self.baseline_name,
                "median": base_median,
                "min": min(base_worst, base_best),
                "max": max(base_worst, base_best),
                "times_s": list(self.baseline.times),
            },
            "ratio": self.ratio,
            "target": self.target,
            "met": self.met,
            "peak_rss_kib": self.rss_kib,
            "note": self.note,
            "goals": [goal.to_json() for goal in self.goals],
        }
