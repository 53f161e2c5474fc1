"""Fleet evidence, one model for both engines: shipped `<host>/last_run.json` reports, or Prometheus (§8.4)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from agent.errors import ConfigError, DataError
from agent.location import Location
from agent.pipeline.model import EvidenceSource
from agent.reports.store import LAST_RUN


@dataclass(frozen=True, slots=True)
class HostEvidence:
    """What one host last told of itself: its bundle, its last full run, its checks and resource counts."""

    host: str
    last_run: datetime | None = None
    success: bool | None = None  # the last full run ended in sync
    status: str | None = None  # the report's status when known (unchanged, changed, failed)
    commit: str | None = None
    signer: str | None = None
    stage: str | None = None
    converged_since: datetime | None = None  # when it first finished a clean converge of `commit`
    checks_passed: int = 0
    checks_failed: int = 0
    failed: int = 0
    drifted: int = 0
    changed: int = 0
    refused: str | None = None  # a commit this host refused (its reason stays on the host)

    @property
    def healthy(self) -> bool:
        return bool(self.success) and self.checks_failed == 0

    @property
    def run_status(self) -> str | None:
        if self.status is not None:
            return self.status
        if self.success is None:
            return None
        return "failed" if not self.success or self.checks_failed else "ok"


class EvidenceReader(Protocol):
    """An engine the fleet already runs, asked for the evidence of these inventory hosts."""

    def read(self, hosts: Iterable[str]) -> dict[str, HostEvidence]: ...


def reader_for(source: EvidenceSource, *, timeout: float = 30.0) -> EvidenceReader:
    if source.kind == "reports":
        return ReportsDirectory(Path(source.target))
    from agent.pipeline.prometheus import Prometheus

    return Prometheus(source.target, timeout=timeout)


class ReportsDirectory:
    """A directory of shipped reports (rsync, syslog, anything): `DIR/<host>/last_run.json`."""

    def __init__(self, directory: Path):
        if not directory.is_dir():
            raise ConfigError("evidence directory does not exist", location=Location(str(directory)))
        self.directory = directory

    def read(self, hosts: Iterable[str]) -> dict[str, HostEvidence]:
        found = {}
        for host in hosts:
            path = self.directory / host / LAST_RUN
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError, ValueError) as error:
                raise DataError(f"not a tend report: {error}", location=Location(str(path))) from None
            if not isinstance(report, dict):
                raise DataError("not a tend report: not a JSON object", location=Location(str(path)))
            found[host] = from_report(host, report, str(path))
        return found


def from_report(host: str, report: Mapping[str, Any], source: str) -> HostEvidence:
    """A report (§7.6, §8.20) read as evidence; `host` is the inventory name the directory gives it."""
    bundle: Mapping[str, Any] = report["bundle"] if isinstance(report.get("bundle"), dict) else {}
    resources = [r for r in report.get("resources") or [] if isinstance(r, dict)]
    checks = [c for c in report.get("checks") or [] if isinstance(c, dict)]
    status = report.get("status")
    refused: Mapping[str, Any] = bundle["refused"] if isinstance(bundle.get("refused"), dict) else {}
    return HostEvidence(
        host=host,
        last_run=_moment(report.get("finished") or report.get("started"), source),
        success=status in ("unchanged", "changed") if isinstance(status, str) else None,
        status=status if isinstance(status, str) else None,
        commit=bundle.get("commit"),
        signer=bundle.get("signer"),
        stage=bundle.get("stage"),
        converged_since=_moment(bundle.get("converged_since"), source),
        checks_passed=sum(1 for c in checks if c.get("status") == "passed"),
        checks_failed=sum(1 for c in checks if c.get("status") == "failed"),
        failed=sum(1 for r in resources if r.get("status") == "failed"),
        drifted=sum(1 for r in resources if r.get("drift")),
        changed=sum(1 for r in resources if r.get("status") == "changed"),
        refused=refused.get("commit"),
    )


def _moment(value: Any, source: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{value!r} is not an ISO 8601 time", location=Location(source)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def age(moment: datetime | None, now: datetime) -> float | None:
    """Seconds since `moment` (None when unknown)."""
    return None if moment is None else (now - moment).total_seconds()


def span(seconds: float) -> str:
    """A short human span: 45s, 12m, 3h5m, 2d4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(seconds // 3600, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"
