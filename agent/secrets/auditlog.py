"""The secret-read log: one JSON line per read, each holding the SHA-256 of the line before (a hash chain)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import HostError
from agent.system import files

GENESIS = "0" * 64
HEAD_SUFFIX = ".head"


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    lines: int
    problem: str | None = None


class AuditLog:
    """Appends reads (never values) to <state-dir>/audit.log and keeps the chain's head next to it."""

    def __init__(self, path: Path):
        self.path = path
        self.head_path = path.with_name(path.name + HEAD_SUFFIX)

    def _last_hash(self) -> str:
        try:
            with self.path.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(0, size - 65536))
                lines = [ln for ln in log.read().splitlines() if ln.strip()]
        except FileNotFoundError:
            return GENESIS
        return line_hash(lines[-1]) if lines else GENESIS

    def append(self, entries: list[dict[str, Any]]) -> list[bytes]:
        """Write the entries, chained; returns the lines written (for syslog)."""
        if not entries:
            return []
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        prev = self._last_hash()
        written = []
        for entry in entries:
            line = json.dumps({**entry, "prev": prev}, sort_keys=True, separators=(",", ":")).encode()
            written.append(line)
            prev = line_hash(line)
        before = self._recorded_lines()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, b"".join(line + b"\n" for line in written))
                os.fsync(fd)
            finally:
                os.close(fd)
            count = before + len(written)
            files.write_atomic(self.head_path, (json.dumps({"lines": count, "head": prev}) + "\n").encode(), mode=0o600)
        except OSError as error:
            raise HostError(f"cannot append to the audit log: {error.strerror}", subject=str(self.path)) from None
        return written

    def _recorded_lines(self) -> int:
        """Lines before this append, from the head (the log is not re-read on every run), else counted."""
        try:
            lines = json.loads(self.head_path.read_text()).get("lines")
        except (OSError, ValueError, AttributeError):
            lines = None
        if isinstance(lines, int):
            return lines
        return sum(1 for _ in self._raw_lines()) if self.path.exists() else 0

    def _raw_lines(self) -> Iterator[bytes]:
        with self.path.open("rb") as log:
            for raw in log:
                if raw.strip():
                    yield raw.rstrip(b"\n")

    def entries(self) -> Iterator[dict[str, Any]]:
        for raw in self._raw_lines():
            yield json.loads(raw)

    def verify(self) -> Verdict:
        """Check every link of the chain, and the head: a deleted, reordered or edited line is named."""
        prev = GENESIS
        count = 0
        try:
            for count, raw in enumerate(self._raw_lines(), start=1):
                try:
                    entry = json.loads(raw)
                except ValueError:
                    return Verdict(False, count, f"line {count}: not JSON (edited?)")
                if not isinstance(entry, dict) or entry.get("prev") != prev:
                    return Verdict(
                        False,
                        count,
                        f"line {count}: the chain breaks here (a line before it was deleted, "
                        "reordered or edited, or this one was)",
                    )
                prev = line_hash(raw)
        except FileNotFoundError:
            return Verdict(True, 0)
        return self._check_head(count, prev)

    def _check_head(self, count: int, prev: str) -> Verdict:
        try:
            head = json.loads(self.head_path.read_text())
        except FileNotFoundError:
            return Verdict(count == 0, count, None if count == 0 else f"{self.head_path.name} is missing")
        except ValueError:
            return Verdict(False, count, f"{self.head_path.name} is not JSON")
        if head.get("lines") != count:
            return Verdict(False, count, f"the log has {count} lines, its head records {head.get('lines')}: "
                           "lines were removed from (or added to) the end")  # fmt: skip
        if head.get("head") != prev:
            return Verdict(False, count, f"line {count}: the last line was edited (it does not match the head)")
        return Verdict(True, count)


def to_syslog(lines: list[bytes]) -> None:
    """The reads, also to syslog/journald (authpriv, `tend-audit`)."""
    from agent.system.syslog import send

    send("tend-audit", (line.decode() for line in lines), audit=True)
