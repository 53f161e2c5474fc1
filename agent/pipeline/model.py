"""pipeline.yaml: the stages as a DAG and what promotion requires, validated with file:line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.formats import Document, check_keys, did_you_mean, read_yaml, read_yaml_file
from agent.location import Location
from agent.pipeline import PIPELINE
from agent.repo.inventory import INVENTORY, load_inventory
from agent.settings import parse_duration

DEFAULT_SHARE = 100.0
DEFAULT_SOAK_S = 30 * 60
DEFAULT_STALE_S = 65 * 60  # twice the default interval plus splay
# A stage names a git ref component (tend/<stage>/<n>) and an environment fact.
_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_EVIDENCE_KEYS = ("hosts", "soak", "source", "stale_after")
SOURCE_KINDS = ("prometheus", "reports")


@dataclass(frozen=True, slots=True)
class EvidenceSource:
    """Where fleet evidence is read: `prometheus=URL` or `reports=DIR` (a directory of <host>/last_run.json)."""

    kind: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind}={self.target}"


@dataclass(frozen=True, slots=True)
class EvidenceRule:
    """What promotion requires of each stage followed, and when a host counts as stale."""

    share: float = DEFAULT_SHARE  # percent of the stage's inventory hosts
    soak_s: int = DEFAULT_SOAK_S
    stale_after_s: int = DEFAULT_STALE_S
    source: EvidenceSource | None = None


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Stages by name, each with the stages it follows (`after`), and the evidence rule."""

    after: Mapping[str, tuple[str, ...]]
    evidence: EvidenceRule = EvidenceRule()
    source: str = PIPELINE
    lines: Mapping[str, int] = field(default_factory=dict)  # where each stage was written

    @property
    def stages(self) -> list[str]:
        return list(self.after)

    def first(self, stage: str) -> bool:
        """A stage with no `after` follows the configured branch tip."""
        return not self.after[stage]

    def before(self, stage: str) -> list[str]:
        """Every stage `stage` follows, transitively, nearest first (breadth first), each once."""
        seen: list[str] = []
        queue = list(self.after[stage])
        while queue:
            name = queue.pop(0)
            if name not in seen:
                seen.append(name)
                queue.extend(self.after[name])
        return seen

    def where(self, stage: str | None = None) -> Location:
        return Location(self.source, self.lines.get(stage) if stage else None)


def parse_source(text: str, where: Location) -> EvidenceSource:
    """`prometheus=URL` or `reports=DIR`, refused with the place it was written."""
    kind, sep, target = str(text).partition("=")
    if not sep or kind not in SOURCE_KINDS or not target:
        raise ConfigError(f"evidence source {text!r} must be prometheus=URL or reports=DIR", location=where)
    if kind == "prometheus" and not target.startswith(("http://", "https://")):
        raise ConfigError(f"evidence source {text!r}: the Prometheus URL must start with http(s)://", location=where)
    return EvidenceSource(kind, target)


def load_pipeline(root: Path) -> Pipeline | None:
    """The repository's pipeline.yaml, validated; None when it has none."""
    document = read_yaml_file(root / PIPELINE, PIPELINE, error=ConfigError)
    return None if document is None else parse_pipeline(document)


def pipeline_from_text(text: str, source: str = PIPELINE) -> Pipeline:
    """A pipeline.yaml given as text (a commit's blob, a test)."""
    return parse_pipeline(read_yaml(text, source, error=ConfigError))


def parse_pipeline(document: Document) -> Pipeline:
    raw = document.value
    if not isinstance(raw, dict):
        raise document.fail("the top level must be a hash with stages (and evidence)")
    check_keys(document, raw, allowed=("stages", "evidence"), required=("stages",))
    stages = raw["stages"]
    if not isinstance(stages, dict) or not stages:
        raise document.fail("'stages' must be a hash of stage names, each {} or {after: [stages]}", "stages")
    after = {name: _after_of(document, name, spec, stages) for name, spec in stages.items()}
    lines = {name: document.line("stages", name) or 1 for name in stages}
    pipeline = Pipeline(after, _evidence(document, raw.get("evidence")), document.source, lines)
    _refuse_cycles(pipeline)
    return pipeline


def _after_of(document: Document, name: Any, spec: Any, stages: Mapping[str, Any]) -> tuple[str, ...]:
    if not isinstance(name, str) or not _STAGE.match(name):
        raise document.fail(
            f"stage name {name!r} must be letters, digits, '-' or '_' (it names tags tend/<stage>/<n>)", "stages", name
        )
    if spec is None:
        return ()
    if not isinstance(spec, dict):
        raise document.fail(f"stage {name}: give {{}} or {{after: [stages]}}", "stages", name)
    check_keys(document, spec, ("stages", name), allowed=("after",), prefix=f"stage {name}: ")
    after = spec.get("after") or []
    if isinstance(after, str):
        after = [after]
    if not isinstance(after, list):
        raise document.fail(f"stage {name}: 'after' must be a list of stages", "stages", name, "after")
    for index, other in enumerate(after):
        if other not in stages:
            hint = did_you_mean(str(other), [str(s) for s in stages]) or f" (stages: {', '.join(map(str, stages))})"
            raise document.fail(f"stage {name}: unknown stage '{other}' in after{hint}", "stages", name, "after", index)
        if other == name:
            raise document.fail(f"stage {name} cannot follow itself", "stages", name, "after", index)
    return tuple(dict.fromkeys(after))


def _evidence(document: Document, raw: Any) -> EvidenceRule:
    if raw is None:
        return EvidenceRule()
    if not isinstance(raw, dict):
        raise document.fail("'evidence' must be a hash (hosts, soak, source, stale_after)", "evidence")
    check_keys(document, raw, ("evidence",), allowed=_EVIDENCE_KEYS, prefix="evidence: ")

    def at(key: str) -> Location:
        return document.at("evidence", key)

    share = DEFAULT_SHARE
    if "hosts" in raw:
        match = _SHARE.match(str(raw["hosts"]))
        share = float(match.group(1)) if match else -1.0
        if not 0 < share <= 100:
            raise ConfigError(
                f"evidence: hosts {raw['hosts']!r} must be a share of a stage's hosts, like 100% or 50%",
                location=at("hosts"),
            )
    source = parse_source(raw["source"], at("source")) if raw.get("source") is not None else None
    return EvidenceRule(
        share=share,
        soak_s=parse_duration(raw.get("soak", DEFAULT_SOAK_S), at("soak"), "evidence: soak"),
        stale_after_s=parse_duration(
            raw.get("stale_after", DEFAULT_STALE_S), at("stale_after"), "evidence: stale_after"
        ),
        source=source,
    )


def _refuse_cycles(pipeline: Pipeline) -> None:
    """Depth-first: a stage met again while still inside it closes a cycle, named stage by stage."""
    done: set[str] = set()
    path: list[str] = []

    def visit(stage: str) -> None:
        if stage in path:
            cycle = [*path[path.index(stage) :], stage]
            raise ConfigError(
                f"stages follow each other in a cycle: {' -> '.join(cycle)}", location=pipeline.where(stage)
            )
        if stage in done:
            return
        path.append(stage)
        for other in pipeline.after[stage]:
            visit(other)
        path.pop()
        done.add(stage)

    for stage in pipeline.stages:
        visit(stage)


def stricter(deployed: Pipeline | None, candidate: Pipeline | None) -> Pipeline | None:
    """The pipeline that governs a candidate commit (§8.3): no stage and no order the deployed one has is
    dropped on the way in. Stages of both, each following what it follows in either; the larger share and
    soak; the candidate's source and stale_after. Orders that contradict each other are refused."""
    if deployed is None or candidate is None:
        return candidate or deployed
    after = {name: tuple(dict.fromkeys([*deployed.after.get(name, ()), *candidate.after.get(name, ())]))
             for name in dict.fromkeys([*candidate.stages, *deployed.stages])}  # fmt: skip
    rule = EvidenceRule(
        share=max(deployed.evidence.share, candidate.evidence.share),
        soak_s=max(deployed.evidence.soak_s, candidate.evidence.soak_s),
        stale_after_s=candidate.evidence.stale_after_s,
        source=candidate.evidence.source or deployed.evidence.source,
    )
    merged = Pipeline(after, rule, candidate.source, {**deployed.lines, **candidate.lines})
    try:
        _refuse_cycles(merged)
    except ConfigError as error:
        error.message = f"the candidate's pipeline contradicts the deployed one's order: {error.message}"
        raise
    return merged


def hosts_by_stage(pipeline: Pipeline, hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """The inventory hosts of each stage (a host's stage is its `environment` fact), sorted."""
    found: dict[str, list[str]] = {stage: [] for stage in pipeline.stages}
    for host in sorted(hosts):
        environment = (hosts[host] or {}).get("environment")
        if environment in found:
            found[str(environment)].append(host)
    return found


def inventory_problems(pipeline: Pipeline, root: Path) -> list[ConfigError]:
    """Each inventory host whose environment is no stage (at its inventory line), then each stage no
    inventory host is in (at its pipeline.yaml line)."""
    inventory = load_inventory(root)
    document = read_yaml_file(root / INVENTORY, INVENTORY, error=ConfigError)
    problems = []
    for host in sorted(inventory.hosts):
        environment = inventory.hosts[host].get("environment")
        if environment not in pipeline.after:
            line = document.line("hosts", host, "environment") or document.line("hosts", host) if document else None
            hint = did_you_mean(str(environment), pipeline.stages)
            problems.append(ConfigError(
                f"host {host}: environment {environment!r} is no stage of {pipeline.source}{hint} "
                f"(stages: {', '.join(pipeline.stages)}); a host in no stage refuses to deploy",
                location=Location(INVENTORY, line),
            ))  # fmt: skip
    for stage, members in hosts_by_stage(pipeline, inventory.hosts).items():
        if not members:
            problems.append(ConfigError(
                f"stage {stage} has no inventory host (none in {INVENTORY} has environment: {stage})",
                location=pipeline.where(stage),
            ))  # fmt: skip
    return problems
