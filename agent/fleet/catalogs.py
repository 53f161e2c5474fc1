"""Every inventory host's catalog as plain data (secrets as placeholders), compiled in parallel and cached on disk.

The cache is keyed by the revision's digest (a tree id, or a hash of the working tree), the host and the
facts it compiled with; it holds what `tend diff` compares, which carries placeholders, never a
decrypted value (§8.19).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import agent
from agent.catalog.compile import Compiler
from agent.catalog.graph import Catalog, Relation
from agent.data.hiera import Hiera
from agent.errors import TendError
from agent.secrets.secret import Secret, placeholder

CACHE_FORMAT = 1
# A resource as compared: its attributes by name, plain JSON values.
Flat = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Compiled:
    """One host at one revision: its resources, or the compile error (file:line) that stopped it."""

    host: str
    resources: Flat | None
    error: str | None = None


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
        try:
            catalog, _ = compiler.compile(facts, host)
        except TendError as error:
            out.append(Compiled(host, None, str(error)))
            continue
        out.append(Compiled(host, flatten(catalog)))
    return out


class CatalogCache:
    """Compiled catalogs on disk, one JSON file per (revision digest, host, facts); 0600 in a 0700 folder."""

    def __init__(self, directory: Path | None):
        self.directory = directory

    def key(self, digest: str | None, host: str, facts: Mapping[str, Any]) -> str | None:
        if self.directory is None or digest is None:
            return None
        ident = [CACHE_FORMAT, agent.__version__, digest, host, facts]
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()

    def get(self, key: str | None) -> Compiled | None:
        if key is None or self.directory is None:
            return None
        try:
            data = json.loads((self.directory / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
            return Compiled(data["host"], data["resources"], data["error"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str | None, compiled: Compiled) -> None:
        if key is None or self.directory is None:
            return
        folder = self.directory / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = json.dumps({"host": compiled.host, "resources": compiled.resources, "error": compiled.error})
            with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, encoding="utf-8") as file:
                file.write(data)
            os.replace(file.name, folder / f"{key}.json")
        except OSError:
            return  # a cache that cannot be written only makes the next diff slower


def compile_fleet(
    root: Path, digest: str | None, hosts: Mapping[str, dict[str, Any]], cache: CatalogCache, *, workers: int
) -> dict[str, Compiled]:
    """Every host of `hosts` (name → facts) at one tree: from the cache, else compiled on `workers` processes."""
    found: dict[str, Compiled] = {}
    keys = {host: cache.key(digest, host, facts) for host, facts in hosts.items()}
    todo = []
    for host in sorted(hosts):
        cached = cache.get(keys[host])
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
        cache.put(keys[compiled.host], compiled)
    return found
