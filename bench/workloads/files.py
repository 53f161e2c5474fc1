"""W1 and W2: `tend apply` converging N files of ~200 bytes, mode 0644, in one managed directory.

W1 gives each file's content literally (100, 1,000 and 10,000 files: a first run on a new host, a no-op run, and a
drift run after 10% of the files were edited by hand); W2 renders the same 1,000 files from one template with a
per-file variable (first and no-op runs). Each figure is the whole `tend apply --root --state-dir
--detailed-exitcodes` process: wall time, and peak RSS from wait4. Every repetition is checked (exit status,
then every file's content and mode), untimed.
Baseline, in the same run and in rotation: bench/floor.py, the least a Python program does for the same files.
`make bench-peers` runs the same scenarios against cf-agent and puppet (bench/peers.py).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import fileset
from bench.agents import DRIFT, EMPTY, FIRST, NOOP, PURGE, Agent, Desired, Floor, Tend
from bench.measure import Result, Settings
from bench.process import Contender, cache_dir, child_env, megabytes, rotate

W1, W2 = "W1 files", "W2 template"
SCALING_TARGET = 11.0  # 10,000 files may cost at most 11 times 1,000
RSS_TARGET_KIB = 60 * 1024
FLOOR = "bench/floor.py (same files: compare, temp+rename; no fsync, backup, state or report)"


@dataclass(frozen=True, slots=True)
class Sizes:
    w1: tuple[int, ...]
    w1_scenarios: tuple[str, ...]
    w2: int
    w2_scenarios: tuple[str, ...]


FULL = Sizes((100, 1000, 10_000), (FIRST, NOOP, DRIFT), 1000, (FIRST, NOOP))
QUICK = Sizes((20,), (FIRST, NOOP, DRIFT), 20, (NOOP,))


def rounds(settings: Settings) -> dict[str, int]:
    """Repetitions: as asked; the quick mode (a smoke test, no measurement) makes two, without a warm-up."""
    if settings.quick:
        return {"repeat": min(settings.repeat, 2), "warmup": 0}
    return {"repeat": settings.repeat, "warmup": settings.warmup}


def measure_scenarios(
    agents: Sequence[Agent],
    files: list[fileset.ManagedFile] | None,
    *,
    template: bool,
    scenarios: Sequence[str],
    repeat: int,
    warmup: int,
    desired: Desired | None = None,
) -> dict[str, list[Contender]]:
    """Each scenario with every agent in rotation; returns the contenders (samples kept) by scenario. The
    agents converge `files` (W1/W2), or `desired` when given."""
    for agent in agents:
        if desired is not None:
            agent.prepare_desired(desired)
        else:
            agent.prepare(files, template=template)
    out: dict[str, list[Contender]] = {}
    for scenario in scenarios:
        contenders = [_contender(agent, scenario, files) for agent in agents]
        out[scenario] = rotate(contenders, repeat=repeat, warmup=warmup)
    return out


def _contender(agent: Agent, scenario: str, files: list[fileset.ManagedFile] | None) -> Contender:
    def check(sample: object) -> None:
        agent.verify(scenario)

    if scenario == FIRST:
        return Contender(agent.name, lambda: agent.run(FIRST), setup=agent.reset, check=check)
    if scenario in (NOOP, EMPTY, PURGE):
        if scenario != EMPTY:  # converged once, untimed, so that every measured run finds nothing else to do
            agent.reset()
            agent.run(FIRST)
        desired = agent.desired
        strays = (lambda: desired.stray(agent.managed)) if scenario == PURGE and desired is not None else None
        return Contender(agent.name, lambda: agent.run(scenario), setup=strays, check=check)
    if scenario == DRIFT:
        assert files is not None
        return Contender(
            agent.name,
            lambda: agent.run(DRIFT),
            setup=lambda: fileset.edit_by_hand(agent.managed, files),
            check=check,
        )
    raise ValueError(f"unknown scenario {scenario!r}")


def run(settings: Settings) -> list[Result]:
    sizes = QUICK if settings.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tend-bench-files-") as directory:
        scratch = Path(directory)
        env = child_env(cache_dir(settings.quick, scratch))
        agents = [Tend(scratch / "tend", env), Floor(scratch / "floor", env)]
        results: list[Result] = []
        by_size: dict[tuple[int, str], float] = {}
        for count in sizes.w1:
            files = fileset.make_files(count, settings.seed)
            measured = measure_scenarios(
                agents, files, template=False, scenarios=sizes.w1_scenarios, **rounds(settings)
            )
            for scenario, (tend, floor) in measured.items():
                by_size[(count, scenario)] = tend.timing.median
                results.append(_result(W1, f"{count:,} files, {scenario}", tend, floor, count))
        files = fileset.make_files(sizes.w2, settings.seed)
        measured = measure_scenarios(agents, files, template=True, scenarios=sizes.w2_scenarios, **rounds(settings))
        for scenario, (tend, floor) in measured.items():
            results.append(_result(W2, f"{sizes.w2:,} files from a template, {scenario}", tend, floor, sizes.w2))
    return _with_scaling(results, by_size, sizes)


def _result(workload: str, name: str, tend: Contender, floor: Contender, count: int) -> Result:
    rss = tend.rss_kib
    verdict = ("ok" if rss < RSS_TARGET_KIB else "MISSED") if count == 1000 else "that target is for 1,000 files"
    note = f"peak RSS tend {megabytes(rss)} (target < 60 MiB: {verdict}), floor {megabytes(floor.rss_kib)}"
    return Result(workload, name, "time", 1, tend.timing, floor.timing, FLOOR, None, rss, note)


def _with_scaling(results: list[Result], by_size: dict[tuple[int, str], float], sizes: Sizes) -> list[Result]:
    """The note of each 10,000-file W1 figure says how its cost grew from 1,000 files (target: at most 11x)."""
    small, large = 1000, 10_000
    if small not in sizes.w1 or large not in sizes.w1:
        return results
    out = []
    for result in results:
        for scenario in sizes.w1_scenarios:
            if result.workload == W1 and result.name == f"{large:,} files, {scenario}":
                growth = by_size[(large, scenario)] / by_size[(small, scenario)]
                verdict = "ok" if growth <= SCALING_TARGET else "MISSED"
                note = f"{result.note}; {growth:.1f}x the cost of {small:,} files (target <= 11x: {verdict})"
                result = dataclasses.replace(result, note=note)
        out.append(result)
    return out


def describe(settings: Settings) -> str:
    sizes = QUICK if settings.quick else FULL
    counts = ", ".join(f"{c:,}" for c in sizes.w1)
    return (
        f"W1: {counts} files with literal content ({', '.join(sizes.w1_scenarios)}); "
        f"W2: {sizes.w2:,} files from one template ({', '.join(sizes.w2_scenarios)}); whole `tend apply` processes"
    )
