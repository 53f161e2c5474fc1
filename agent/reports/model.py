"""The report of one run (§7.6): what each resource did, the run's status and exit code."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    WOULD_CHANGE = "would-change"
    WOULD_REFRESH = "would-refresh"
    FAILED = "failed"
    SKIPPED = "skipped"
    WOULD_PURGE = "would-purge"  # a stray in a purged directory, in noop: a `file:<path>` entry of its own
    DROPPED = "dropped"  # no longer declared, kept on the host
    REMOVED = "removed"  # no longer declared and undone, or a stray of a purged directory removed
    WOULD_REMOVE = "would-remove"


class RunStatus(StrEnum):
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    FAILED = "failed"


IN_SYNC = frozenset([Status.UNCHANGED, Status.CHANGED])
_CHANGES = frozenset([Status.CHANGED, Status.WOULD_CHANGE, Status.WOULD_REFRESH, Status.WOULD_PURGE])
# A dropped resource (or a purged stray) changes the host only when something was removed.
_UNDOING = frozenset([Status.REMOVED, Status.WOULD_REMOVE])


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(now: datetime, sequence: int) -> str:
    """`<this host's run number>-<UTC time>-<random>`: sorted by the number, which no clock step disturbs."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{sequence:08d}-{stamp}-{secrets.token_hex(3)}"


@dataclass(slots=True)
class ResourceResult:
    id: str
    status: Status
    changes: list[dict[str, Any]] = field(default_factory=list)
    sensitive: bool = False
    drift: bool = False
    duration_ms: float = 0.0
    error: str | None = None
    diff: str | None = None  # plan's unified diff; never for sensitive resources, not stored
    instance: str | None = None  # the define instance it came from (`app::worker:billing`)

    @property
    def changed(self) -> bool:
        return self.status in _CHANGES or (self.status in _UNDOING and bool(self.changes))

    def to_json(self) -> dict[str, Any]:
        shown = {"instance": self.instance} if self.instance else {}
        return {
            "id": self.id,
            "status": str(self.status),
            "changes": self.changes,
            "sensitive": self.sensitive,
            "drift": self.drift,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
            **shown,
        }


@dataclass(slots=True)
class Report:
    run_id: str
    host: str
    started: datetime
    mode: str  # "apply" or "noop"
    bundle: dict[str, Any] | None = None  # commit and signer; `refused` when it replaced a commit
    finished: datetime | None = None
    resources: list[ResourceResult] = field(default_factory=list)
    secrets_read: list[dict[str, str]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the run could not start or compile
    interrupted: bool = False
    state_damaged: bool = False  # state.json could not be used: set aside, drift judged from the last report

    @property
    def checks_failed(self) -> bool:
        return any(check.get("status") == "failed" for check in self.checks)

    @property
    def status(self) -> RunStatus:
        if self.error or any(r.status is Status.FAILED for r in self.resources) or self.interrupted:
            return RunStatus.FAILED
        if self.checks_failed:
            return RunStatus.FAILED
        if any(r.changed for r in self.resources):
            return RunStatus.CHANGED
        return RunStatus.UNCHANGED

    def exit_code(self, detailed: bool = False) -> int:
        """0 when every resource ended in sync; with detailed codes Puppet's 0/2/4/6; 1 for a run that never ran."""
        if self.error:
            return 1
        failed = (
            self.interrupted
            or self.checks_failed
            or any(r.status in (Status.FAILED, Status.SKIPPED) for r in self.resources)
        )
        if not detailed:
            return 1 if failed else 0
        changed = any(r.changed for r in self.resources)
        return (2 if changed else 0) | (4 if failed else 0)

    def to_json(self, detailed: bool = False) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "host": self.host,
            "started": iso(self.started),
            "finished": iso(self.finished or self.started),
            "bundle": self.bundle,
            "mode": self.mode,
            "status": str(self.status),
            "exit_code": self.exit_code(detailed),
            "resources": [r.to_json() for r in self.resources],
            "secrets_read": self.secrets_read,
            "checks": self.checks,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "error": self.error,
            "interrupted": self.interrupted,
            "state_damaged": self.state_damaged,
        }
