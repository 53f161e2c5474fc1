"""The catalog: resources with typed edges, ordered topologically (ties by manifest position), cycles named."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from agent.catalog.checks import Check
from agent.errors import ManifestError
from agent.resources.base import Resource


class Relation(StrEnum):
    REQUIRE = "require"
    BEFORE = "before"
    NOTIFY = "notify"
    SUBSCRIBE = "subscribe"
    IMPLICIT = "implicit"


@dataclass(frozen=True, slots=True)
class Edge:
    """`source` is applied before `target`; `refresh` when a change of source refreshes target."""

    source: str
    target: str
    relation: Relation

    @property
    def refresh(self) -> bool:
        return self.relation in (Relation.NOTIFY, Relation.SUBSCRIBE)


@dataclass(slots=True)
class Catalog:
    host: str
    resources: dict[str, Resource] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    instances: dict[str, list[str]] = field(default_factory=dict)  # `<define>:<title>` -> its resources' ids
    remove_dropped: frozenset[str] = frozenset()  # types undone once dropped (Hiera tend::remove_dropped)

    def dependencies(self) -> dict[str, list[str]]:
        """For each resource, the resources that must be applied before it."""
        before: dict[str, list[str]] = defaultdict(list)
        for edge in self.edges:
            before[edge.target].append(edge.source)
        return before

    def refresh_targets(self) -> dict[str, list[str]]:
        """For each resource, the resources a change of it refreshes."""
        targets: dict[str, list[str]] = defaultdict(list)
        for edge in self.edges:
            if edge.refresh and edge.target not in targets[edge.source]:
                targets[edge.source].append(edge.target)
        return targets

    def refreshed_by(self, rids: Iterable[str]) -> frozenset[str]:
        """`rids` and every resource their changes refresh, transitively (a watch correction's chain)."""
        targets = self.refresh_targets()
        found = set(rids)
        todo = list(found)
        while todo:
            for target in targets.get(todo.pop(), []):
                if target not in found:
                    found.add(target)
                    todo.append(target)
        return frozenset(found)

    def sort(self) -> list[str]:
        """Topological order, ties broken by declaration order; a cycle is an error naming it."""
        position = {rid: i for i, rid in enumerate(self.resources)}
        successors: dict[str, set[str]] = defaultdict(set)
        indegree = dict.fromkeys(self.resources, 0)
        for edge in self.edges:
            if edge.target not in successors[edge.source]:
                successors[edge.source].add(edge.target)
                indegree[edge.target] += 1
        ready = [(position[rid], rid) for rid, n in indegree.items() if n == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, rid = heapq.heappop(ready)
            order.append(rid)
            for nxt in successors.get(rid, ()):
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    heapq.heappush(ready, (position[nxt], nxt))
        if len(order) < len(self.resources):
            raise self._cycle_error({rid for rid, n in indegree.items() if n > 0}, successors)
        self.order = order
        return order

    def _cycle_error(self, stuck: set[str], successors: dict[str, set[str]]) -> ManifestError:
        """Walk back through predecessors (every stuck resource has one) until a resource repeats."""
        rank = {rid: i for i, rid in enumerate(self.resources)}
        predecessors: dict[str, list[str]] = defaultdict(list)
        for source, targets in successors.items():
            for target in targets:
                if source in stuck and target in stuck:
                    predecessors[target].append(source)
        node = min(stuck, key=rank.__getitem__)
        path: list[str] = []
        seen: dict[str, int] = {}
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = min(predecessors[node], key=rank.__getitem__)
        members = list(reversed(path[seen[node] :]))
        first = members.index(min(members, key=rank.__getitem__))
        cycle = [*members[first:], *members[:first], members[first]]
        steps = " -> ".join(f"{rid} ({self.resources[rid].location})" for rid in cycle)
        return ManifestError(f"dependency cycle: {steps}", location=self.resources[cycle[0]].location)
