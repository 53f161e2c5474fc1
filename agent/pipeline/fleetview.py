"""`tend fleet`: every inventory host with its stage, commit, release, last run, counts and staleness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.pipeline.evidence import HostEvidence, age, span
from agent.pipeline.model import DEFAULT_STALE_S, Pipeline
from agent.pipeline.releases import Releases
from agent.reports.model import iso


@dataclass(frozen=True, slots=True)
class FleetRow:
    host: str
    stage: str | None
    commit: str | None
    released: bool | None  # whether the commit is the stage's release (None: unknown, no trust given)
    last_run: datetime | None
    status: str | None
    failed: int
    drifted: int
    stale: bool
    refused: str | None

    @property
    def bad(self) -> bool:
        return self.stale or self.status == "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "stage": self.stage,
            "commit": self.commit,
            "released": self.released,
            "last_run": iso(self.last_run) if self.last_run else None,
            "status": self.status,
            "failed": self.failed,
            "drifted": self.drifted,
            "stale": self.stale,
            "refused": self.refused,
        }


def fleet_rows(
    hosts: Mapping[str, Mapping[str, Any]],
    evidence: Mapping[str, HostEvidence],
    now: datetime,
    *,
    pipeline: Pipeline | None = None,
    releases: Releases | None = None,
) -> list[FleetRow]:
    """One row per inventory host, sorted by stage order then name; no evidence at all is stale."""
    stale_after = pipeline.evidence.stale_after_s if pipeline else DEFAULT_STALE_S
    targets: dict[str, str | None] = {}
    rows = []
    for host in sorted(hosts):
        stage = (hosts[host] or {}).get("environment")
        found = evidence.get(host) or HostEvidence(host)
        released = None
        if pipeline is not None and releases is not None and found.commit:
            if isinstance(stage, str) and stage in pipeline.after:
                if stage not in targets:
                    targets[stage] = releases.target(stage, pipeline)
                released = found.commit == targets[stage]
            else:
                released = False
        since = age(found.last_run, now)
        rows.append(FleetRow(
            host, str(stage) if stage is not None else None, found.commit, released, found.last_run,
            found.run_status, found.failed, found.drifted, since is None or since > stale_after, found.refused,
        ))  # fmt: skip
    order = {stage: index for index, stage in enumerate(pipeline.stages)} if pipeline else {}
    return sorted(rows, key=lambda row: (order.get(row.stage or "", len(order)), row.stage or "", row.host))


def summary(rows: list[FleetRow]) -> dict[str, Any]:
    stages: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = stages.setdefault(row.stage or "", {"hosts": 0, "released": 0, "failed": 0, "stale": 0})
        counts["hosts"] += 1
        counts["released"] += bool(row.released)
        counts["failed"] += row.status == "failed"
        counts["stale"] += row.stale
    return {
        "hosts": len(rows),
        "failed": sum(1 for row in rows if row.status == "failed"),
        "stale": sum(1 for row in rows if row.stale),
        "refused": sum(1 for row in rows if row.refused),
        "stages": stages,
    }


def to_json(rows: list[FleetRow]) -> dict[str, Any]:
    return {"hosts": [row.to_json() for row in rows], "summary": summary(rows)}


def table(rows: list[FleetRow], now: datetime) -> str:
    """Aligned columns, one line per host, then a summary line."""
    header = ("HOST", "STAGE", "COMMIT", "RELEASED", "LAST RUN", "STATUS", "FAILED", "DRIFTED", "STALE")
    lines = [header]
    for row in rows:
        since = age(row.last_run, now)
        released = {True: "yes", False: "no", None: "?"}[row.released]
        commit = (row.commit or "-")[:12] + (f" (refused {row.refused[:12]})" if row.refused else "")
        lines.append((
            row.host, row.stage or "-", commit, released, f"{span(since)} ago" if since is not None else "never",
            row.status or "-", str(row.failed), str(row.drifted), "STALE" if row.stale else "",
        ))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]
    total = summary(rows)
    out.append(
        f"{total['hosts']} hosts: {total['failed']} failed, {total['stale']} stale, {total['refused']} refused a commit"
    )
    return "\n".join(out) + "\n"
