"""Reports on disk: reports/<run-id>.json and last_run.json under the state directory, oldest pruned.

last_run.json is the last full apply's (§8.1: fleet evidence reads it): noop, `--tags` and watch reports
are stored beside it as <run-id>.json, never over it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.reports.model import new_run_id
from agent.system import files

_ENCODER = json.JSONEncoder()  # json.dumps's own settings: compact, and `tend report` shows it
LAST_RUN = "last_run.json"
SEQUENCE = ".sequence"


class ReportStore:
    def __init__(self, directory: Path, retention: int = 100):
        self.directory = directory
        self.retention = retention

    def next_run_id(self, now: datetime) -> str:
        """A new run id, numbered after the last one of this host (the caller holds the run lock)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            last = int((self.directory / SEQUENCE).read_text().strip() or 0)
        except (OSError, ValueError):
            ids = self.ids()
            last = int(ids[-1].split("-", 1)[0]) if ids and ids[-1].split("-", 1)[0].isdigit() else len(ids)
        files.write_atomic(self.directory / SEQUENCE, f"{last + 1}\n".encode(), mode=0o600)
        return new_run_id(now, last + 1)

    def save(self, report: dict[str, Any], *, full: bool = True) -> Path:
        """Store a report; only a full apply's becomes last_run.json, the evidence fleets read (§8.1):
        noop, --tags and watch reports are stored beside it, never over it."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = [*report_pieces(report), b"\n"]  # the line's end a piece of its own, not a copy
        path = self.directory / f"{report['run_id']}.json"
        files.write_atomic(path, data, mode=0o600)
        if full and report.get("mode") == "apply":
            files.write_atomic(self.directory / LAST_RUN, data, mode=0o600)
        self._prune()
        return path

    def ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if p.name != LAST_RUN)

    def load(self, run_id: str) -> dict[str, Any]:
        path = self.directory / (LAST_RUN if run_id == "last" else f"{run_id}.json")
        report = json.loads(path.read_text())
        if not isinstance(report, dict):
            raise ValueError(f"{path}: not a report (a JSON object)")
        return report

    def _prune(self) -> None:
        for old in self.ids()[: -self.retention or None]:
            (self.directory / f"{old}.json").unlink(missing_ok=True)


def report_pieces(report: Mapping[str, Any], items: int = 1000) -> Iterator[bytes]:
    """`json.dumps(report)`, encoded, in pieces: a long list (the resources) a thousand items at a time, so
    that the report of many resources is never one string (and its bytes) at once."""
    yield b"{"
    for number, (key, value) in enumerate(report.items()):
        head = ("" if number == 0 else ", ") + _ENCODER.encode(key) + ": "
        if not isinstance(value, list) or len(value) <= items:
            yield (head + _ENCODER.encode(value)).encode()
            continue
        yield (head + "[").encode()
        for start in range(0, len(value), items):
            piece = _ENCODER.encode(value[start : start + items])[1:-1]
            yield (piece if start == 0 else ", " + piece).encode()
        yield b"]"
    yield b"}"
