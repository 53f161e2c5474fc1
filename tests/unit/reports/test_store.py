"""The report store reads back only JSON objects: anything else is a ValueError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.reports.store import ReportStore


def test_a_stored_report_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "20240101T000000Z.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"20240101T000000Z\.json: not a report"):
        ReportStore(tmp_path).load("20240101T000000Z")


def test_a_stored_report_reads_back(tmp_path: Path) -> None:
    (tmp_path / "r1.json").write_text('{"run_id": "r1"}')
    assert ReportStore(tmp_path).load("r1") == {"run_id": "r1"}
