"""Where the runner ends the durability batch (DESIGN §7.5, §8.16), on in-memory resources."""

from __future__ import annotations

from collections import ChainMap
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from agent.catalog.graph import Catalog, Edge, Relation
from agent.errors import HostError, TendError
from agent.reports.model import Report, Status
from agent.runner import dropped
from agent.runner.apply import Runner
from agent.runner.dropped import Dropped
from agent.system.files import FileState
from tests.unit.fakes import Fake, Memory, fake
from tests.unit.runner.test_apply import MemoryState


class Batched(Fake):
    """A fake whose writes may wait in the batch, as a file or an edit's do."""

    type_name: ClassVar[str] = "batched"
    batched: ClassVar[bool] = True


class Journal(Memory):
    """Memory that logs whom the writes are for, each end of the batch, and each state save."""

    def __init__(self, state: MemoryState) -> None:
        super().__init__()
        self.events: list[str] = []
        self.failures: dict[str | None, TendError] = {}
        state.save = lambda: self.events.append("save")  # type: ignore[method-assign]
        self.owner: str | None = None

    def __setitem__(self, key: str, value: str) -> None:
        self.events.append(f"write {key} for {self.owner}")
        super().__setitem__(key, value)

    def acting_for(self, owner: str | None) -> None:
        self.owner = owner

    def sync(self) -> None:
        self.events.append("sync")

    def failed_writes(self) -> dict[str | None, TendError]:
        failures, self.failures = self.failures, {}
        return failures

    def read_state(self, path: Any) -> FileState | None:
        return None


def batched(title: str, value: str = "v") -> Batched:
    base = fake(title, value)
    return Batched(title=title, values=base.values, location=base.location)


def catalog_of(*resources: Fake, edges: tuple[Edge, ...] = ()) -> Catalog:
    catalog = Catalog("h")
    for resource in resources:
        catalog.resources[resource.id] = resource
    catalog.edges = list(edges)
    catalog.sort()
    return catalog


def apply(catalog: Catalog, journal: Journal, state: MemoryState) -> Report:
    report = Report("r", "h", datetime.now(UTC), "apply")
    Runner(catalog, journal, state).run(report)
    return report


def test_batched_writes_share_one_batch_that_ends_before_the_state_is_saved() -> None:
    state = MemoryState()
    journal = Journal(state)
    apply(catalog_of(batched("a"), batched("b"), batched("c")), journal, state)
    assert journal.events == [
        "write a for batched:a", "write b for batched:b", "write c for batched:c", "sync", "save"
    ]  # fmt: skip


def test_the_batch_ends_before_a_resource_that_may_read_the_host() -> None:
    state = MemoryState()
    journal = Journal(state)
    apply(catalog_of(batched("a"), fake("x"), batched("b")), journal, state)
    # The unbatched resource (an exec, a service, a package …) writes on its own, after the batch ended.
    assert journal.events == [
        "write a for batched:a",
        "sync",
        "write x for None",
        "write b for batched:b",
        "sync",
        "save",
    ]


def test_a_refresh_owed_is_saved_after_the_batch_before_it_ended() -> None:
    state = MemoryState()
    journal = Journal(state)
    journal["t"] = "t"
    journal.events.clear()
    edges = (Edge("batched:b", "fake:t", Relation.NOTIFY),)
    apply(catalog_of(batched("a"), batched("b"), fake("t", "t"), edges=edges), journal, state)
    assert journal.events[:4] == ["write a for batched:a", "sync", "save", "write b for batched:b"]
    assert journal.refreshed == ["t"]


def test_a_write_that_fails_when_its_batch_ends_fails_its_resource_and_is_recorded_so() -> None:
    state = MemoryState()
    journal = Journal(state)
    journal.failures = {"batched:b": HostError("cannot write: Is a directory", subject="/etc/b")}
    report = apply(catalog_of(batched("a"), batched("b"), fake("x")), journal, state)
    statuses = {r.id: r.status for r in report.resources}
    assert statuses == {"batched:a": Status.CHANGED, "batched:b": Status.FAILED, "fake:x": Status.CHANGED}
    assert "Is a directory" in (report.resources[1].error or "")
    assert state.resources["batched:b"]["status"] == "failed"
    assert state.resources["batched:a"]["status"] == "changed"


def test_a_failed_batched_write_skips_the_resources_that_depend_on_it() -> None:
    state = MemoryState()
    journal = Journal(state)
    journal.failures = {"batched:a": HostError("cannot write: No space left on device", subject="/etc/a")}
    edges = (Edge("batched:a", "fake:x", Relation.REQUIRE),)
    report = apply(catalog_of(batched("a"), fake("x"), edges=edges), journal, state)
    assert {r.id: r.status for r in report.resources} == {"batched:a": Status.FAILED, "fake:x": Status.SKIPPED}


def undo_after(
    catalog: Catalog, journal: Journal, state: MemoryState, monkeypatch: pytest.MonkeyPatch, failing: str = ""
) -> Report:
    """Apply `catalog` with `batched:a` and `batched:b` recorded by the last full apply, to be undone (the write of
    `failing` failing when the batch ends)."""
    # The registry is lazy and read-only: the test type goes in front of it.
    monkeypatch.setattr(dropped, "TYPES", ChainMap({"batched": Batched}, dropped.TYPES))
    applied_for = {"repo": "r", "host": "h", "root": "/"}
    record = {"type": "batched", "on_drop": "remove", "requires": []}
    state.record_catalog({f"batched:{t}": {**record, "title": t, "undo": {"value": "gone"}} for t in "ab"}, applied_for)
    real = state.record_catalog
    monkeypatch.setattr(state, "record_catalog", lambda *args: (journal.events.append("record catalog"), real(*args)))
    journal["a"] = journal["b"] = "v"
    journal.events.clear()
    report = Report("r", "h", datetime.now(UTC), "apply")
    runner = Runner(catalog, journal, state)
    runner.run(report)
    if failing:
        journal.failures = {failing: HostError("cannot write: No space left on device", subject="/etc/a")}
    Dropped(catalog, state, runner, applied_for=applied_for, warn=lambda text: None).run(report)
    return report


def test_undoing_dropped_resources_joins_the_batch_which_ends_before_the_catalog_forgets_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = MemoryState()
    journal = Journal(state)
    report = undo_after(catalog_of(batched("c")), journal, state, monkeypatch)
    assert journal.events == [
        "write c for batched:c",
        "sync",
        "save",
        "write b for batched:b",
        "write a for batched:a",
        "sync",
        "record catalog",
    ]
    assert {r.id: r.status for r in report.resources} == {
        "batched:c": Status.CHANGED, "batched:b": Status.REMOVED, "batched:a": Status.REMOVED
    }  # fmt: skip
    assert list(state.catalog) == ["batched:c"]


def test_an_undo_whose_write_fails_when_the_batch_ends_is_failed_and_kept_for_the_next_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = MemoryState()
    journal = Journal(state)
    report = undo_after(catalog_of(batched("c")), journal, state, monkeypatch, failing="batched:a")
    statuses = {r.id: r.status for r in report.resources}
    assert statuses["batched:a"] is Status.FAILED and statuses["batched:b"] is Status.REMOVED
    assert "No space left" in (report.resources[-1].error or "")
    assert list(state.catalog) == ["batched:c", "batched:a"]  # undone again by the next run
    assert "batched:a" not in state.resources  # no drift record for what is no longer declared
