"""What W11 and W12 share: a `Desired` converged by tend and the installed peers in one rotation, cf-agent's
time (else puppet's) as the baseline, and a target against cf-agent per scenario.

Puppet takes seconds per run: it is measured in full mode only, with at most 3 repetitions, so that its runs
do not make `make bench` several times longer; quick mode (the test suite) runs tend and cf-agent once each.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from bench.agents import Agent, CfAgent, Desired, Puppet, Tend
from bench.measure import Result, Settings, ratio_goal
from bench.process import Contender, megabytes
from bench.workloads.files import measure_scenarios, rounds

PUPPET_REPEAT = 3


def agents(scratch: Path, env: dict[str, str], settings: Settings, *, puppet: bool) -> list[Agent]:
    """tend, then cf-agent and puppet where installed (puppet in full mode only, when the workload has it)."""
    found: list[Agent] = [Tend(scratch / "tend", env)]
    if shutil.which("cf-agent"):
        found.append(CfAgent(scratch / "cf-agent", env))
    if puppet and not settings.quick and shutil.which("puppet"):
        found.append(Puppet(scratch / "puppet", env))
    return found


def measure(
    workload: str,
    what: str,
    desired: Desired,
    scenarios: Sequence[str],
    contenders: list[Agent],
    settings: Settings,
    *,
    target: float,
) -> list[Result]:
    """Every scenario in rotation; one Result per scenario, its goal tend <= `target` x cf-agent."""
    counts = {"repeat": 1, "warmup": 0} if settings.quick else rounds(settings)
    if any(isinstance(agent, Puppet) for agent in contenders):
        counts["repeat"] = min(counts["repeat"], PUPPET_REPEAT)
    measured = measure_scenarios(contenders, None, template=False, scenarios=scenarios, desired=desired, **counts)
    return [_result(workload, f"{what}, {scenario}", runs, target) for scenario, runs in measured.items()]


def _result(workload: str, name: str, runs: list[Contender], target: float) -> Result:
    tend, *peers = runs
    by_name = {peer.name: peer for peer in peers}
    cf = by_name.get("cf-agent")
    baseline = cf or by_name.get("puppet") or tend
    baseline_name = baseline.name if baseline is not tend else "tend itself (no peer installed)"
    asked = f"{workload} {name}: tend <= {target}x cf-agent"
    goal = ratio_goal(asked, target, tend.timing, cf.timing if cf else None, "cf-agent")
    others = "; ".join(
        f"{p.name} {p.timing.median * 1000:,.0f} ms (tend / {p.name} {tend.timing.median / p.timing.median:.2f}x)"
        for p in peers
    )
    rss = ", ".join(f"{c.name} {megabytes(c.rss_kib)}" for c in runs)
    note = f"{others or 'no peer installed'}; peak RSS {rss}"
    return Result(
        workload, name, "time", 1, tend.timing, baseline.timing, baseline_name, None, tend.rss_kib, note, (goal,)
    )
