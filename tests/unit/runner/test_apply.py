"""The runner's rules on in-memory resources: noop, skipping, refresh delivery, owed refreshes, drift."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agent.catalog.graph import Catalog, Edge, Relation
from agent.reports.model import Report, Status
from agent.runner.apply import Runner
from agent.runner.state import RunState
from tests.unit.fakes import Memory, fake


class MemoryState(RunState):
    """RunState kept in memory (the unit tests never touch the disk)."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent/state.json"), Path("/nonexistent/state.key"))
        self._key = b"k" * 32
        self.saves = 0

    def save(self) -> None:
        self.saves += 1


def build(*specs: tuple[str, str], edges: tuple[tuple[str, str, Relation], ...] = ()) -> Catalog:
    catalog = Catalog("h")
    for title, value in specs:
        catalog.resources[f"fake:{title}"] = fake(title, value)
    catalog.edges = [Edge(f"fake:{a}", f"fake:{b}", rel) for a, b, rel in edges]
    catalog.sort()
    return catalog


def run(catalog: Catalog, memory: Memory, state: MemoryState, **options) -> dict[str, Status]:
    report = Report("r", "h", datetime.now(UTC), "noop" if options.get("noop") else "apply")
    Runner(catalog, memory, state, **options).run(report)
    return {r.id: r.status for r in report.resources}


def test_changes_then_nothing_to_do() -> None:
    memory, state = Memory(), MemoryState()
    catalog = build(("a", "1"), ("b", "2"))
    assert run(catalog, memory, state) == {"fake:a": Status.CHANGED, "fake:b": Status.CHANGED}
    assert run(catalog, memory, state) == {"fake:a": Status.UNCHANGED, "fake:b": Status.UNCHANGED}


def test_noop_changes_nothing_and_predicts_refreshes_along_chains() -> None:
    memory, state = Memory(), MemoryState()
    memory["b"] = "2"
    edges = (("a", "b", Relation.NOTIFY), ("b", "c", Relation.NOTIFY))
    catalog = build(("a", "1"), ("b", "2"), ("c", "3"), edges=edges)
    memory["c"] = "3"
    statuses = run(catalog, memory, state, noop=True)
    assert statuses == {"fake:a": Status.WOULD_CHANGE, "fake:b": Status.WOULD_REFRESH, "fake:c": Status.WOULD_REFRESH}
    assert "a" not in memory and memory.refreshed == [] and state.saves == 0


def test_failure_skips_dependents_but_not_independents() -> None:
    memory, state = Memory(), MemoryState()
    memory.failing.add("a")
    catalog = build(("a", "1"), ("b", "2"), ("c", "3"), edges=(("a", "b", Relation.REQUIRE),))
    assert run(catalog, memory, state) == {"fake:a": Status.FAILED, "fake:b": Status.SKIPPED, "fake:c": Status.CHANGED}


def test_refresh_delivered_once_per_target() -> None:
    memory, state = Memory(), MemoryState()
    memory["t"] = "t"
    edges = (("a", "t", Relation.NOTIFY), ("b", "t", Relation.NOTIFY))
    statuses = run(build(("a", "1"), ("b", "2"), ("t", "t"), edges=edges), memory, state)
    assert statuses["fake:t"] is Status.CHANGED
    assert memory.refreshed == ["t"]


def test_a_changed_target_is_not_refreshed_again() -> None:
    memory, state = Memory(), MemoryState()
    run(build(("a", "1"), ("t", "t"), edges=(("a", "t", Relation.NOTIFY),)), memory, state)
    assert memory.refreshed == []


def test_owed_refresh_is_written_before_the_change_and_survives_a_failed_refresh() -> None:
    memory, state = Memory(), MemoryState()
    memory["t"] = "t"
    memory.failing.add("t")
    catalog = build(("a", "1"), ("t", "t"), edges=(("a", "t", Relation.NOTIFY),))
    assert run(catalog, memory, state)["fake:t"] is Status.FAILED
    assert state.owed == {"fake:t": ["fake:a"]} and state.saves >= 2
    memory.failing.clear()
    assert run(catalog, memory, state) == {"fake:a": Status.UNCHANGED, "fake:t": Status.CHANGED}
    assert memory.refreshed == ["t"] and state.owed == {}
    assert run(catalog, memory, state)["fake:t"] is Status.UNCHANGED


def test_a_failed_change_owes_no_refresh() -> None:
    memory, state = Memory(), MemoryState()
    memory.failing.add("a")
    run(build(("a", "1"), ("t", "t"), edges=(("a", "t", Relation.NOTIFY),)), memory, state)
    assert state.owed == {}


def test_drift_only_when_the_desired_state_is_unchanged() -> None:
    memory, state = Memory(), MemoryState()
    catalog = build(("a", "1"))
    run(catalog, memory, state)
    memory["a"] = "edited by hand"
    report = Report("r", "h", datetime.now(UTC), "apply")
    Runner(catalog, memory, state).run(report)
    assert report.resources[0].drift is True
    report = Report("r", "h", datetime.now(UTC), "apply")
    Runner(build(("a", "new desired")), memory, state).run(report)
    assert report.resources[0].drift is False


def test_interruption_skips_the_rest() -> None:
    memory, state = Memory(), MemoryState()
    calls = iter([False, True, True])
    report = Report("r", "h", datetime.now(UTC), "apply")
    Runner(build(("a", "1"), ("b", "2"), ("c", "3")), memory, state, stop=lambda: next(calls)).run(report)
    assert [r.status for r in report.resources] == [Status.CHANGED, Status.SKIPPED, Status.SKIPPED]
    assert report.interrupted and report.exit_code() == 1


def test_exit_codes() -> None:
    memory, state = Memory(), MemoryState()
    report = Report("r", "h", datetime.now(UTC), "apply")
    Runner(build(("a", "1")), memory, state).run(report)
    assert (report.exit_code(), report.exit_code(detailed=True)) == (0, 2)
    report = Report("r", "h", datetime.now(UTC), "apply")
    Runner(build(("a", "1")), memory, state).run(report)
    assert (report.exit_code(), report.exit_code(detailed=True)) == (0, 0)
    memory.failing.add("b")
    report = Report("r", "h", datetime.now(UTC), "apply")
    Runner(build(("a", "2"), ("b", "1")), memory, state).run(report)
    assert (report.exit_code(), report.exit_code(detailed=True)) == (1, 6)
