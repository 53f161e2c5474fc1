"""Every inventory host's catalog as plain data (secrets as placeholders), compiled in parallel and cached on disk.

The cache is the one compile cache (agent/catalog/cache.py, §8.19): an entry is keyed by the revision's
digest (a tree id, or the working tree's) and the host, and serves while the facts that compile read keep
their values; it holds what `tend diff` compares, which carries placeholders, never a decrypted value.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.catalog.cache import CompileCache
from agent.catalog.compile import Compiler
from agent.catalog.graph import Catalog, Relation
from agent.catalog.tracking import FactsRead, ReadFacts
from agent.data.hiera import Hiera
from agent.errors import TendError
from agent.secrets.secret import Secret, placeholder

FLAT = "flat"  # the cache entries of `tend diff`: a host's flattened resources, or its compile error
# A resource as compared: its attributes by name, plain JSON values.
Flat = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Compiled:
    """One host at one revision: its resources, or the compile error (file:line) that stopped it; the facts
    that compile read and whether it may be kept (None, False: it came from the cache, or drew on chance)."""

    host: str
    resources: Flat | None
    error: str | None = None
    facts: FactsRead | None = None
    repeatable: bool = False


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tend" / "catalogs"


def plain(value: Any) -> Any:
    """A compiled value as JSON: a secret as its placeholder, bytes as text (or a note when binary)."""
    if isinstance(value, Secret):
        # This compile decrypts nothing: a Secret here is a placeholder, or text a template built around
        # one (taint keeps it a Secret), which a diff must show. Anything else shows as its placeholder.
        shown = placeholder(value.file, value.key).reveal()
        return value.reveal() if shown in value.reveal() else shown
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return f"<binary: {len(value)} bytes, sha256 {hashlib.sha256(value).hexdigest()}>"
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def flatten(catalog: Catalog) -> Flat:
    """Each resource's attributes, its class and tags, and what it precedes or notifies, by id."""
    out: Flat = {}
    for rid, resource in catalog.resources.items():
        attributes = {name: plain(value) for name, value in sorted(resource.values.items()) if value is not None}
        attributes["class"] = resource.class_name
        if resource.tags:
            attributes["tags"] = list(resource.tags)
        out[rid] = attributes
    for edge in catalog.edges:
        if edge.relation is not Relation.IMPLICIT:
            name = "notifies" if edge.refresh else "precedes"
            out[edge.source].setdefault(name, []).append(edge.target)
    for attributes in out.values():
        for name in ("notifies", "precedes"):
            if name in attributes:
                attributes[name] = sorted(set(attributes[name]))
    return out


def compile_hosts(root: str, hosts: list[tuple[str, dict[str, Any]]]) -> list[Compiled]:
    """Compile some hosts of one tree (a worker's share: manifests and data are read once for all)."""
    compiler = Compiler(Path(root), Hiera(Path(root)), secrets=lambda value: placeholder(value.file, value.key))
    out = []
    for host, facts in hosts:
        tracked = ReadFacts(facts)
        try:
            catalog, _ = compiler.compile(tracked, host)
            resources, error = flatten(catalog), None
        except TendError as failure:
            resources, error = None, str(failure)
        out.append(Compiled(host, resources, error, tracked.read(), compiler.renderer.repeatable))
    return out


def compile_fleet(
    root: Path, digest: str | None, hosts: Mapping[str, dict[str, Any]], cache: CompileCache, *, workers: int
) -> dict[str, Compiled]:
    """Every host of `hosts` (name → facts) at one tree: from the cache, else compiled on `workers` processes."""
    found: dict[str, Compiled] = {}
    keys = {host: cache.key(FLAT, digest, host) for host in hosts}
    todo = []
    for host in sorted(hosts):
        cached = _cached(cache, keys[host], host, hosts[host])
        if cached is not None:
            found[host] = cached
        else:
            todo.append((host, hosts[host]))
    shares = [todo[i::workers] for i in range(workers) if todo[i::workers]]
    if len(shares) <= 1:
        results = [compile_hosts(str(root), todo)] if todo else []
    else:
        with ProcessPoolExecutor(max_workers=len(shares)) as pool:
            results = list(pool.map(compile_hosts, [str(root)] * len(shares), shares))
    for compiled in (c for share in results for c in share):
        found[compiled.host] = compiled
        if compiled.repeatable and compiled.facts is not None:
            cache.put(keys[compiled.host], FLAT, compiled.facts, (compiled.resources, compiled.error), prune=False)
    cache.prune()
    return found


def _cached(cache: CompileCache, key: str | None, host: str, facts: Mapping[str, Any]) -> Compiled | None:
    entry = cache.get(key, facts)
    if entry is None or entry.kind != FLAT:
        return None
    try:
        resources, error = entry.body
    except (ValueError, TypeError):
        return None
    if not (resources is None or isinstance(resources, dict)) or not (error is None or isinstance(error, str)):
        return None
    return Compiled(host, resources, error)
