"""The report store reads back only JSON objects: anything else is a ValueError naming the file; a report is
written in pieces, as one `json.dumps` writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.reports.store import LAST_RUN, ReportStore, report_pieces


def test_a_stored_report_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "20240101T000000Z.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"20240101T000000Z\.json: not a report"):
        ReportStore(tmp_path).load("20240101T000000Z")


def test_a_stored_report_reads_back(tmp_path: Path) -> None:
    (tmp_path / "r1.json").write_text('{"run_id": "r1"}')
    assert ReportStore(tmp_path).load("r1") == {"run_id": "r1"}


def test_a_report_is_written_in_pieces_as_one_json_dumps_writes_it(tmp_path: Path) -> None:
    resources = [
        {"id": f"file:/srv/é{n}", "status": "changed", "changes": [], "duration_ms": n / 3} for n in range(2500)
    ]
    report = {"run_id": "r1", "mode": "apply", "resources": resources, "checks": [], "timings": {"total_s": 1.5},
              "bundle": None, "error": "a \"quoted\" error"}  # fmt: skip
    whole = json.dumps(report).encode()
    for items in (1, 7, 1000, 5000):
        assert b"".join(report_pieces(report, items)) == whole
    assert max(len(piece) for piece in report_pieces(report)) < len(whole) / 2
    assert b"".join(report_pieces({})) == b"{}"
    ReportStore(tmp_path).save(report)
    assert (tmp_path / "r1.json").read_bytes() == (tmp_path / LAST_RUN).read_bytes() == whole + b"\n"
