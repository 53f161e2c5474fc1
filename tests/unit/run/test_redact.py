"""The last line of defence: this run's plaintexts (8 bytes or more, and each such line) leave no report string."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.reports.model import Report, ResourceResult, Status
from agent.run.redact import REDACTED, Redactor

KEY = "-----BEGIN KEY-----\nLEAK-c4e8-tls-line\n-----END KEY-----"


def test_a_result_holding_a_plaintext_is_redacted_and_named() -> None:
    warned: list[str] = []
    redactor = Redactor(["hunter2-long", "short", KEY], warned.append)
    result = ResourceResult("exec:x", Status.FAILED, error="output: pw=hunter2-long")
    result.changes = [{"property": "content", "from": ["a", {"b": "+LEAK-c4e8-tls-line"}], "to": 3}]
    result.diff = "-x\n+short\n"
    redactor.result(result)
    assert result.error == f"output: pw={REDACTED}"
    assert result.changes == [{"property": "content", "from": ["a", {"b": f"+{REDACTED}"}], "to": 3}]
    assert result.diff == "-x\n+short\n"  # under 8 bytes: not hunted
    assert warned == ["exec:x: its output held a secret decrypted in this run: redacted in the report"]


def test_a_clean_result_and_report_are_left_alone() -> None:
    warned: list[str] = []
    redactor = Redactor(["hunter2-long"], warned.append)
    result = ResourceResult("file:/a", Status.CHANGED, changes=[{"property": "mode", "from": "0644", "to": "0600"}])
    redactor.result(result)
    report = Report("1", "h", datetime.now(UTC), "apply", error="boom", checks=[{"name": "c", "output": "fine"}])
    redactor.report(report)
    assert (result.changes[0]["to"], report.error, report.checks[0]["output"], warned) == ("0600", "boom", "fine", [])


def test_the_run_error_and_checks_are_redacted() -> None:
    warned: list[str] = []
    report = Report("1", "h", datetime.now(UTC), "apply", error="x hunter2-long", checks=[{"output": "hunter2-long"}])
    Redactor(["hunter2-long"], warned.append).report(report)
    assert report.error == f"x {REDACTED}" and report.checks == [{"output": REDACTED}]
    assert len(warned) == 2
