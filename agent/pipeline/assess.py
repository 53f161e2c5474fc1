"""Whether the evidence allows a promotion: per host of each stage followed, healthy on the commit for the soak."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from agent.pipeline.evidence import HostEvidence, age, span
from agent.pipeline.model import EvidenceRule, Pipeline


@dataclass(frozen=True, slots=True)
class HostVerdict:
    host: str
    ok: bool
    reason: str  # "converged 2h ago, 3 checks passed", or what is missing, failed or too recent

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'NO  '} {self.host}: {self.reason}"


@dataclass(frozen=True, slots=True)
class StageVerdict:
    stage: str
    hosts: tuple[HostVerdict, ...]
    required: int

    @property
    def passing(self) -> int:
        return sum(1 for verdict in self.hosts if verdict.ok)

    @property
    def ok(self) -> bool:
        return bool(self.hosts) and self.passing >= self.required

    def headline(self, rule: EvidenceRule) -> str:
        if not self.hosts:
            return f"{self.stage}: no inventory host has environment {self.stage}: nothing can show the commit works"
        return (
            f"{self.stage}: {self.passing} of {len(self.hosts)} hosts healthy on the commit for {span(rule.soak_s)} "
            f"({self.required} needed: hosts {rule.share:g}%)"
        )


@dataclass(frozen=True, slots=True)
class Assessment:
    stage: str
    commit: str
    rule: EvidenceRule
    stages: tuple[StageVerdict, ...]

    @property
    def ok(self) -> bool:
        return all(verdict.ok for verdict in self.stages)

    @property
    def stage_names(self) -> list[str]:
        return [verdict.stage for verdict in self.stages if not verdict.ok]

    def lines(self) -> list[str]:
        """The evidence in words: a headline per stage followed, then a line per host."""
        out = []
        for verdict in self.stages:
            out.append(verdict.headline(self.rule))
            out.extend(f"  {host.line()}" for host in verdict.hosts)
        return out or [f"{self.stage} follows no stage: it needs no evidence"]


def judge(evidence: HostEvidence | None, commit: str, rule: EvidenceRule, now: datetime) -> tuple[bool, str]:
    """One host: on `commit`, last run in sync, no failed check, converged at least the soak ago, not stale."""
    short = commit[:12]
    if evidence is None or evidence.last_run is None:
        return False, "missing: no run reported"
    if evidence.commit != commit:
        running = (evidence.commit or "no bundle")[:12]
        refused = f" (it refused {short})" if evidence.refused == commit else ""
        return False, f"missing: runs {running}, not {short}{refused}"
    since_run = age(evidence.last_run, now) or 0.0
    if since_run > rule.stale_after_s:
        return False, f"stale: last run {span(since_run)} ago (stale after {span(rule.stale_after_s)})"
    if not evidence.success:
        return False, f"failed: its last run failed ({evidence.failed} resources failed)"
    if evidence.checks_failed:
        return False, f"failed: {evidence.checks_failed} checks failed"
    soaked = age(evidence.converged_since, now)
    if soaked is None:
        return False, f"too recent: it has not finished a clean converge of {short}"
    if soaked < rule.soak_s:
        return False, f"too recent: converged {span(soaked)} ago, the soak is {span(rule.soak_s)}"
    return True, f"converged {span(soaked)} ago, {evidence.checks_passed} checks passed"


def assess(
    pipeline: Pipeline,
    stage: str,
    commit: str,
    members: Mapping[str, list[str]],
    evidence: Mapping[str, HostEvidence],
    now: datetime,
) -> Assessment:
    """The evidence for releasing `commit` to `stage`: that of the stages it directly follows (their own
    order was enforced when they were released)."""
    rule = pipeline.evidence
    verdicts = []
    for followed in pipeline.after[stage]:
        hosts = members.get(followed, [])
        judged = tuple(HostVerdict(host, *judge(evidence.get(host), commit, rule, now)) for host in hosts)
        verdicts.append(StageVerdict(followed, judged, math.ceil(len(hosts) * rule.share / 100 - 1e-9)))
    return Assessment(stage, commit, rule, tuple(verdicts))
