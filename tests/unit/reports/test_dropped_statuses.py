"""Dropped and removed entries count as a change for --detailed-exitcodes only when something was removed;
an entry from a define names its instance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.reports.model import Report, ResourceResult, RunStatus, Status

REMOVED = [{"property": "ensure", "from": "file", "to": "absent"}]


def report(*results: ResourceResult) -> Report:
    return Report("1", "h", datetime(2026, 1, 1, tzinfo=UTC), "apply", resources=list(results))


@pytest.mark.parametrize(
    ("result", "code", "status"),
    [
        (ResourceResult("file:/a", Status.DROPPED), 0, RunStatus.UNCHANGED),
        (ResourceResult("file:/a", Status.REMOVED), 0, RunStatus.UNCHANGED),  # nothing was left to remove
        (ResourceResult("file:/a", Status.REMOVED, changes=REMOVED), 2, RunStatus.CHANGED),
        (ResourceResult("file:/a", Status.WOULD_REMOVE, changes=REMOVED), 2, RunStatus.CHANGED),
        (ResourceResult("file:/a", Status.FAILED, error="busy"), 4, RunStatus.FAILED),
    ],
)
def test_what_a_dropped_entry_counts_as(result: ResourceResult, code: int, status: RunStatus) -> None:
    done = report(ResourceResult("file:/b", Status.UNCHANGED), result)
    assert (done.exit_code(detailed=True), done.status) == (code, status)


def test_an_entry_names_its_instance_only_when_it_has_one() -> None:
    plain = ResourceResult("file:/a", Status.UNCHANGED).to_json()
    assert "instance" not in plain
    made = ResourceResult("file:/a", Status.UNCHANGED, instance="app::worker:billing").to_json()
    assert made["instance"] == "app::worker:billing"
