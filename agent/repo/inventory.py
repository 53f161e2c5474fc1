"""keys/inventory.yaml: every host with the facts that place it in the hierarchy, and every admin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.data.yamlfile import DataFile, read_data_file
from agent.errors import ConfigError, DataError
from agent.facts import gather_facts, inventory_facts
from agent.location import Location

INVENTORY = "keys/inventory.yaml"


@dataclass(frozen=True, slots=True)
class Inventory:
    hosts: Mapping[str, Mapping[str, Any]]
    admins: tuple[str, ...]
    source: str = INVENTORY

    def facts_of(self, host: str) -> Mapping[str, Any]:
        return inventory_facts({"hosts": self.hosts}, host, source=self.source)

    def host_facts(self, host: str, machine: Mapping[str, Any]) -> dict[str, Any]:
        """The facts `host` compiles with on an admin's machine: its inventory facts over this machine's."""
        return gather_facts(system=machine, local={}, config={}, inventory=self.facts_of(host), host=host)


def load_inventory(root: Path) -> Inventory:
    """Read the inventory; a repository without one has no hosts and no admins."""
    path = root / INVENTORY
    if not path.is_file():
        return Inventory({}, ())
    try:
        datafile: DataFile = read_data_file(path, INVENTORY)
    except DataError as error:
        raise ConfigError(error.message, location=error.location) from None
    data = datafile.data

    def at(key: str) -> Location:
        return Location(INVENTORY, datafile.line_of(key))

    unknown = [k for k in data if k not in ("hosts", "admins")]
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}' (known: hosts, admins)", location=at(str(unknown[0])))
    hosts = data.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise ConfigError("'hosts' must be a hash of host names to facts", location=at("hosts"))
    for name, facts in hosts.items():
        if not isinstance(name, str) or not (facts is None or isinstance(facts, dict)):
            raise ConfigError(f"host {name!r}: give its facts as a hash (role, environment, ...)", location=at("hosts"))
    admins = data.get("admins") or []
    if not isinstance(admins, list) or not all(isinstance(a, str) for a in admins):
        raise ConfigError("'admins' must be a list of names", location=at("admins"))
    return Inventory({name: dict(facts or {}) for name, facts in hosts.items()}, tuple(admins))
