"""The secret-read log: one JSON line per read, each holding the SHA-256 of the line before (a hash chain),
and a MAC under a host-local key (DESIGN §8.9).

`prev` makes any edit, deletion or reordering visible unless every later line is re-chained; the keyed
`mac` of each line and of the head makes that re-chaining impossible without the key (0600 next to the
log), so it catches a rewrite by anyone who cannot read the key, not by root. What catches root is the
copy of each line's hash sent to syslog/journald (shipped off the host).
"""

from __future__ import annotations

import hashlib
import hmac
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
KEY_SUFFIX = ".key"
KEY_BYTES = 32


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _encode(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()


def _mac(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _head_data(lines: int, head: str) -> bytes:
    return f"{lines}:{head}".encode()


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    lines: int
    problem: str | None = None
    keyed: bool = False  # the head carried this host's MAC (False: a log from before the key, or empty)


class AuditLog:
    """Appends reads (never values) to <state-dir>/audit.log and keeps the chain's head next to it."""

    def __init__(self, path: Path):
        self.path = path
        self.head_path = path.with_name(path.name + HEAD_SUFFIX)
        self.key_path = path.with_name(path.name + KEY_SUFFIX)

    def _key(self, *, create: bool) -> bytes | None:
        """The host-local MAC key, made on first use (0600, never rewritten)."""
        try:
            return self.key_path.read_bytes()
        except FileNotFoundError:
            if not create:
                return None
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self.key_path.read_bytes()
        try:
            os.write(fd, os.urandom(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        return self.key_path.read_bytes()

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
        """Write the entries, chained and keyed; returns the lines written (for syslog)."""
        if not entries:
            return []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            prev = self._last_hash()
            key = self._key(create=True)
            assert key is not None
            written = []
            for entry in entries:
                body = {**entry, "prev": prev}
                line = _encode({**body, "mac": _mac(key, _encode(body))})
                written.append(line)
                prev = line_hash(line)
            before = self._recorded_lines()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, b"".join(line + b"\n" for line in written))
                os.fsync(fd)
            finally:
                os.close(fd)
            count = before + len(written)
            mac = _mac(key, _head_data(count, prev))
            head = json.dumps({"lines": count, "head": prev, "mac": mac}) + "\n"
            files.write_atomic(self.head_path, head.encode(), mode=0o600)
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
        """Check every link and MAC of the chain, and the head: a deleted, reordered or edited line is named.

        Lines from before the key (no `mac`) verify by their chain alone; once a line is keyed, every later
        one must be, and once the key exists the head must carry its MAC."""
        try:
            key = self._key(create=False)
        except OSError as error:
            return Verdict(False, 0, f"cannot read the key {self.key_path.name}: {error.strerror} (run as the agent)")
        prev, count, keyed = GENESIS, 0, False
        try:
            for count, raw in enumerate(self._raw_lines(), start=1):
                problem, has_mac = self._check_line(raw, prev, key, keyed)
                if problem is not None:
                    return Verdict(False, count, f"line {count}: {problem}")
                keyed = keyed or has_mac
                prev = line_hash(raw)
        except FileNotFoundError:
            return Verdict(True, 0)
        return self._check_head(count, prev, key)

    def _check_line(self, raw: bytes, prev: str, key: bytes | None, keyed: bool) -> tuple[str | None, bool]:
        """What is wrong with one line (None: nothing), and whether it is keyed."""
        try:
            entry = json.loads(raw)
        except ValueError:
            return "not JSON (edited?)", False
        if not isinstance(entry, dict) or entry.get("prev") != prev:
            return "the chain breaks here (a line before it was deleted, reordered or edited, or this one was)", False
        mac = entry.pop("mac", None)
        if mac is None:
            return ("has no MAC though a line before it has (the log was rewritten)" if keyed else None), False
        if key is None:
            return f"carries a MAC but the key {self.key_path.name} is missing", True
        if not hmac.compare_digest(str(mac), _mac(key, _encode(entry))):
            return "its MAC does not match this host's key (the log was rewritten from here without it)", True
        return None, True

    def _check_head(self, count: int, prev: str, key: bytes | None) -> Verdict:
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
        if key is not None:
            mac = head.get("mac") if isinstance(head, dict) else None
            if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, _head_data(count, prev))):
                return Verdict(False, count, f"line {count}: {self.head_path.name} does not carry this host's keyed "
                               f"MAC for {count} lines: lines after it were dropped, or the log rewritten, and the "
                               "head forged")  # fmt: skip
        return Verdict(True, count, keyed=key is not None)


def syslog_lines(lines: list[bytes]) -> list[str]:
    """Each line as sent to syslog, ending with its own chain hash: the next line's `prev`, kept off the log."""
    return [f"{line.decode()} sha256={line_hash(line)}" for line in lines]


def to_syslog(lines: list[bytes]) -> None:
    """The reads and their chain hashes, also to syslog/journald (authpriv, `tend-audit`)."""
    from agent.system.syslog import send

    send("tend-audit", syslog_lines(lines), audit=True)
