"""Taint's last line of defence (DESIGN §8.8): a plaintext this run decrypted never reaches what it prints or stores.

Taint marks what is computed from a secret; what it cannot see (an exec that reads a file a secret was
written to, a message that quotes a value) is caught here, by comparing every string of a resource's result
and of the run's report with the plaintexts of HUNTED_BYTES or more that the compile decrypted (and with each
such line of a multi-line one, as diffs split them). A hit is replaced and warned about, naming the
resource; the output is redacted, and nothing else (no mode) changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent.reports.model import Report, ResourceResult
from agent.secrets.secret import HUNTED_BYTES

REDACTED = "[redacted]"


class Redactor:
    """Replaces this run's plaintexts in report strings; `warn` is told which resource or field held one."""

    def __init__(self, plaintexts: Iterable[str], warn: Callable[[str], None]):
        needles = set()
        for plain in plaintexts:
            needles.add(plain)
            needles.update(line.strip() for line in plain.splitlines())
        self.needles = sorted((n for n in needles if len(n.encode()) >= HUNTED_BYTES), key=len, reverse=True)
        self.warn = warn

    def result(self, result: ResourceResult) -> None:
        """Redact a resource's error, changes and diff in place (before it is printed or stored)."""
        if not self.needles:
            return
        error, changes, diff = (self._clean(v) for v in (result.error, result.changes, result.diff))
        if (error, changes, diff) != (result.error, result.changes, result.diff):
            result.error, result.changes, result.diff = error, changes, diff
            self.warn(f"{result.id}: its output held a secret decrypted in this run: redacted in the report")

    def report(self, report: Report) -> None:
        """Redact the run's error and the checks' results in place."""
        if not self.needles:
            return
        error, checks = self._clean(report.error), self._clean(report.checks)
        if error != report.error:
            report.error = error
            self.warn("the run's error held a secret decrypted in this run: redacted")
        if checks != report.checks:
            report.checks = checks
            self.warn("a check's output held a secret decrypted in this run: redacted")

    def text(self, value: str) -> str:
        return self._clean(value) if self.needles else value

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for needle in self.needles:
                if needle in value:
                    value = value.replace(needle, REDACTED)
            return value
        if isinstance(value, list):
            return [self._clean(item) for item in value]
        if isinstance(value, dict):
            return {key: self._clean(item) for key, item in value.items()}
        return value
