"""`tend diff`: what a change of the control repository does to every inventory host's catalog."""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.catalog.cache import CompileCache
from agent.errors import ConfigError
from agent.facts import system_facts
from agent.facts.inventory import unknown_host_message
from agent.fleet.catalogs import Compiled, Flat, compile_fleet
from agent.location import Location
from agent.repo.inventory import INVENTORY, load_inventory


@dataclass(frozen=True, slots=True)
class Side:
    """One revision to compare: its label, the tree, and its digest (for the cache)."""

    label: str
    root: Path
    digest: str | None


@dataclass(slots=True)
class ResourceChange:
    id: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    diff: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "changes": self.changes, "diff": self.diff}


@dataclass(slots=True)
class HostDiff:
    host: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        changed = [c.to_json() for c in self.changed]
        return {"host": self.host, "added": self.added, "removed": self.removed, "changed": changed}


@dataclass(slots=True)
class FleetDiff:
    hosts: list[HostDiff]  # changed hosts only
    compared: int
    errors: list[str]  # "web1 at HEAD: manifests/x.yaml:3: …"

    def summary(self) -> dict[str, Any]:
        return {
            "hosts": self.compared,
            "changed_hosts": len(self.hosts),
            "added": sum(len(h.added) for h in self.hosts),
            "removed": sum(len(h.removed) for h in self.hosts),
            "changed": sum(len(h.changed) for h in self.hosts),
            "errors": self.errors,
        }

    def to_json(self) -> dict[str, Any]:
        return {"hosts": [h.to_json() for h in self.hosts], "summary": self.summary()}


def diff_fleet(
    old: Side, new: Side, *, only: Collection[str] = (), cache: CompileCache, workers: int | None = None
) -> FleetDiff:
    """Compile every inventory host (each revision's own inventory) at both revisions and compare."""
    machine = system_facts()
    sides = []
    hosts: set[str] = set()
    for side in (old, new):
        inventory = load_inventory(side.root)
        facts = {host: inventory.host_facts(host, machine) for host in inventory.hosts}
        sides.append(facts)
        hosts.update(facts)
    unknown = sorted(set(only) - hosts)
    if unknown:
        raise ConfigError(unknown_host_message(unknown[0], sorted(hosts)), location=Location(INVENTORY))
    wanted = set(only) or hosts
    count = workers or os.cpu_count() or 1
    compiled = [
        compile_fleet(side.root, side.digest, {h: f for h, f in facts.items() if h in wanted}, cache, workers=count)
        for side, facts in zip((old, new), sides, strict=True)
    ]
    errors = [f"{host} at {side.label}: {c.error}" for side, found in zip((old, new), compiled, strict=True)
              for host, c in sorted(found.items()) if c.error]  # fmt: skip
    out = []
    for host in sorted(wanted):
        before, after = compiled[0].get(host), compiled[1].get(host)
        if _failed(before) or _failed(after):
            continue
        result = compare(host, _resources(before), _resources(after), old.label, new.label)
        if not result.empty:
            out.append(result)
    return FleetDiff(out, len(wanted), errors)


def _failed(compiled: Compiled | None) -> bool:
    return compiled is not None and compiled.error is not None


def _resources(compiled: Compiled | None) -> Flat:
    return (compiled.resources or {}) if compiled else {}


def compare(host: str, old: Flat, new: Flat, old_label: str, new_label: str) -> HostDiff:
    """Resources added, removed and changed (attribute by attribute; multi-line text as a unified diff)."""
    result = HostDiff(host, sorted(set(new) - set(old)), sorted(set(old) - set(new)))
    for rid in sorted(set(old) & set(new)):
        before, after = old[rid], new[rid]
        change = ResourceChange(rid)
        texts = []
        for name in sorted(set(before) | set(after)):
            a, b = before.get(name), after.get(name)
            if a == b:
                continue
            if _text(a) or _text(b):
                change.changes.append({"property": name})
                texts.append(_unified(a, b, f"{rid} {name} ({old_label})", f"{rid} {name} ({new_label})"))
            else:
                change.changes.append({"property": name, "from": a, "to": b})
        if change.changes:
            change.diff = "".join(texts) or None
            result.changed.append(change)
    return result


def _text(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value


def _unified(old: Any, new: Any, old_name: str, new_name: str) -> str:
    a = old if isinstance(old, str) else ("" if old is None else f"{old}\n")
    b = new if isinstance(new, str) else ("" if new is None else f"{new}\n")
    lines = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True), old_name, new_name)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def render_text(result: FleetDiff) -> str:
    """A block per changed host: + added, - removed, ~ changed with its attributes and diffs."""
    out = []
    for host in result.hosts:
        out.append(f"{host.host}: {len(host.added)} added, {len(host.removed)} removed, {len(host.changed)} changed")
        out.extend(f"  + {rid}" for rid in host.added)
        out.extend(f"  - {rid}" for rid in host.removed)
        for change in host.changed:
            out.append(f"  ~ {change.id}")
            out.extend(f"      {c['property']}: {c['from']!r} -> {c['to']!r}" for c in change.changes if "from" in c)
            if change.diff:
                out.extend(f"      {line}" for line in change.diff.rstrip("\n").split("\n"))
    total = result.summary()
    out.append(f"{total['changed_hosts']} of {total['hosts']} hosts change: {total['added']} resources added, "
               f"{total['removed']} removed, {total['changed']} changed")  # fmt: skip
    return "\n".join(out) + "\n"
