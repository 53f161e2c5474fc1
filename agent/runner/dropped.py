"""Dropped resources: those of the last full apply no longer declared, reported, and undone where asked.

The state records each declared resource with the attributes that undo it (`Resource.undo`, taken while
it is declared) and its own `on_drop`. Only a full apply records the catalog or undoes anything, and only
for the repository and host the state was last applied for (DESIGN §8.1); a plan reports what it would do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agent.catalog.graph import Catalog
from agent.errors import TendError
from agent.location import Location
from agent.reports.model import Report, ResourceResult, Status
from agent.resources import TYPES
from agent.resources.base import Resource
from agent.runner.apply import Runner
from agent.runner.state import RunState, Shared

_KEPT = (Status.DROPPED, Status.FAILED)


def records(catalog: Catalog, recorded: Mapping[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """What the state keeps of each declared resource, in the order applied; a record equal to the one
    `recorded` already holds is that one (a run that changed nothing keeps one copy of each, not two)."""
    depends = catalog.dependencies()
    recorded = recorded or {}
    shared = Shared()
    out: dict[str, dict[str, Any]] = {}
    for rid in catalog.order:
        resource = catalog.resources[rid]
        record = {
            "type": resource.type_name,
            "title": resource.title,
            "undo": resource.undo(),
            "on_drop": resource.on_drop,
            "requires": sorted(set(depends.get(rid, []))),
        }
        shared.record(record)
        before = recorded.get(rid)
        out[rid] = before if before == record else record
    return out


class Dropped:
    """One run's dropped resources: each reported `dropped`, or undone (`removed`) after the catalog."""

    def __init__(
        self,
        catalog: Catalog,
        state: RunState,
        runner: Runner,
        *,
        applied_for: Mapping[str, str],
        warn: Callable[[str], None],
        on_result: Callable[[ResourceResult], None] = lambda result: None,
    ):
        self.catalog = catalog
        self.state = state
        self.runner = runner
        self.applied_for = dict(applied_for)
        self.warn = warn
        self.on_result = on_result

    def run(self, report: Report) -> None:
        state, noop = self.state, self.runner.noop
        if state.applied_for is not None and state.applied_for != self.applied_for:
            self.warn(
                f"the state was last applied for {_named(state.applied_for)}, this run is for "
                f"{_named(self.applied_for)}: no resource is taken for dropped or undone"
                + ("" if noop else "; the state now records this run's catalog")
            )
            if not noop:
                state.record_catalog(records(self.catalog, state.catalog), self.applied_for)
            return
        outcomes: list[tuple[str, dict[str, Any], ResourceResult | None]] = []  # None: interrupted, kept
        reported = {result.id for result in report.resources}
        for rid, record, resource in self._dropped():
            if rid in reported:  # a stray that a purge already removed (or, in plan, would): reported once
                if not noop:
                    state.forget(rid)
                continue
            if self.runner.stop():
                report.interrupted = True  # the next run takes it up again
                outcomes.append((rid, record, None))
                continue
            result = self._one(rid, record, resource)
            report.resources.append(result)
            self.on_result(result)
            outcomes.append((rid, record, result))
            if not noop:
                state.forget(rid)
        if not noop:
            # The undoing writes renamed (or failed) before the catalog forgets what they undid.
            self.runner.end_batch()
            kept = {
                rid: record
                for rid, record, result in outcomes
                if result is None or (result.status in _KEPT and record.get("undo") is not None)
            }
            state.record_catalog({**records(self.catalog, state.catalog), **kept}, self.applied_for)

    def _dropped(self) -> list[tuple[str, dict[str, Any], Resource | None]]:
        """Recorded, no longer declared, and managed by no other resource of the catalog (a new title for
        the same path or name is the same thing); dependents before what they required."""
        recorded = {rid: r for rid, r in self.state.catalog.items() if rid not in self.catalog.resources}
        if not recorded:
            return []
        identities = {resource.identity for resource in self.catalog.resources.values()}
        found = []
        for rid in _undo_order(recorded):
            record = recorded[rid]
            resource = _rebuild(record)
            if resource is not None and resource.identity in identities:
                if not self.runner.noop:
                    self.state.forget(rid)  # its past is the old title's, not the new one's
                continue
            found.append((rid, record, resource))
        return found

    def _one(self, rid: str, record: Mapping[str, Any], resource: Resource | None) -> ResourceResult:
        on_drop = record.get("on_drop")
        remove = on_drop == "remove" or (on_drop is None and record["type"] in self.catalog.remove_dropped)
        if not remove or record.get("undo") is None:
            return ResourceResult(rid, Status.DROPPED)
        if resource is None:
            return ResourceResult(
                rid, Status.FAILED, error="its record cannot be undone by this tend (unknown type or attributes)"
            )
        return self.runner.undo(resource)


def _rebuild(record: Mapping[str, Any]) -> Resource | None:
    """The resource that undoes a recorded one (None when this tend has no such type or cannot build it)."""
    cls = TYPES.get(record["type"])
    if cls is None:
        return None
    resource = cls(title=record["title"], values=dict(record.get("undo") or {}), location=Location("state.json"))
    try:
        resource.check_attributes()
        resource.validate()
    except TendError:
        return None
    return resource


def _undo_order(recorded: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Each resource after whatever required it (a file before its directory), else the reverse of the
    recorded order."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(rid: str) -> None:
        if rid in seen:
            return
        seen.add(rid)
        for required in recorded[rid]["requires"]:
            if required in recorded:
                visit(required)
        order.append(rid)

    for rid in recorded:
        visit(rid)
    return order[::-1]


def _named(applied_for: Mapping[str, str]) -> str:
    return ", ".join(f"{key} {applied_for[key]}" for key in sorted(applied_for))
