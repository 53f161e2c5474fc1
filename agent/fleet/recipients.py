"""Least privilege, derived: which hosts' catalogs use each (file, key), compiled with secrets left opaque."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.catalog.compile import Compiler
from agent.data.encrypted import EncryptedValue
from agent.data.hiera import Hiera, LookupContext
from agent.data.readable import readable_files
from agent.errors import SecretError, TendError
from agent.facts import system_facts
from agent.location import Location
from agent.repo.inventory import Inventory, load_inventory
from agent.secrets.repo_keys import Principal, RepoKeys
from agent.secrets.secret import placeholder

DATA_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class Usage:
    """What every inventory host's catalog consumed, as (data file, top-level key) pairs."""

    inventory: Inventory
    by_host: dict[str, frozenset[tuple[str, str]]]
    contexts: dict[str, LookupContext] = field(default_factory=dict)  # each host's lookups, for its options

    def users(self, file: str, key: str) -> list[str]:
        return sorted(host for host, used in self.by_host.items() if (file, key) in used)

    def readers(self, file: str, key: str) -> list[str]:
        """The hosts that use the value, then every admin."""
        return [*self.users(file, key), *sorted(self.inventory.admins)]


def derive_usage(root: Path, hiera: Hiera, *, facts: dict[str, Any] | None = None) -> Usage:
    """Compile every inventory host (its inventory facts, this machine's for the rest), nothing decrypted.

    A key missing from the data does not stop it (the lookup is recorded); any other compile error
    of a host does, with that host's error.
    """
    inventory = load_inventory(root)
    compiler = Compiler(root, hiera, secrets=lambda value: placeholder(value.file, value.key), tolerant=True)
    machine = system_facts() if facts is None else facts
    by_host: dict[str, frozenset[tuple[str, str]]] = {}
    contexts: dict[str, LookupContext] = {}
    for host in sorted(inventory.hosts):
        host_facts = inventory.host_facts(host, machine)
        try:
            _, context = compiler.compile(host_facts, host)
        except TendError as error:
            error.message = f"cannot derive who reads secrets: host {host} does not compile: {error.message}"
            raise
        by_host[host] = frozenset(context.used)
        contexts[host] = context
    return Usage(inventory, by_host, contexts)


def encryption_key(principal: Principal) -> str:
    """The (sub)key to encrypt to: the newest valid encryption key of the principal."""
    keys = principal.encryption_keys()
    if not keys:
        raise SecretError(
            f"{principal.kind} {principal.name} has no valid encryption key", location=Location(principal.file)
        )
    return max(keys, key=lambda k: k.created).fingerprint


def principals_for(names: list[str], usage: Usage, keys: RepoKeys, what: str) -> list[Principal]:
    """The principals behind reader names; a reader without a key in keys/ is an error naming the file."""
    out = []
    admins = set(usage.inventory.admins)
    for name in names:
        kind = "admin" if name in admins and name not in usage.inventory.hosts else "host"
        principal = keys.admin(name) if kind == "admin" else keys.host(name)
        if principal is None:
            folder = "keys/admins" if kind == "admin" else "keys/hosts"
            fix = "run `tend keys init` on the host and commit its public key" if kind == "host" else "add it"
            raise SecretError(f"{kind} {name} must read {what}, but {folder}/{name}.asc is missing ({fix})")
        out.append(principal)
    return out


def data_files(root: Path, hiera: Hiera) -> list[str]:
    """Every data file under the hierarchy's datadirs, and every file a level can read whatever its
    extension (`.eyaml`), the modules' data included; repository-relative, sorted."""
    configs = [hiera.config, *(c for name in hiera.modules.names() if (c := hiera.modules.config(name)))]
    found: set[str] = set(readable_files(root, configs))
    for datadir in sorted({level.datadir for config in configs for level in config.levels}):
        base = root / datadir
        if base.is_dir():
            found.update(str(p.relative_to(root)) for p in base.rglob("*") if p.suffix in DATA_SUFFIXES and p.is_file())
    return sorted(found)


def encrypted_values(root: Path, hiera: Hiera) -> Iterator[EncryptedValue]:
    """Every ENC[...] value of the data, at any depth, in file order."""
    for path in data_files(root, hiera):
        datafile = hiera.store.get(path, "json" if path.endswith(".json") else "yaml")
        if datafile is not None:
            yield from _walk(datafile.data)


def _walk(value: Any) -> Iterator[EncryptedValue]:
    if isinstance(value, EncryptedValue):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
