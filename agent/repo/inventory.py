"""keys/inventory.yaml: every host with the facts that place it in the hierarchy, and every admin."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent import formats
from agent.errors import ConfigError
from agent.facts import gather_facts, inventory_facts
from agent.facts.node import CERTNAME, EXTENSIONS

if TYPE_CHECKING:
    from agent.formats import Document

INVENTORY = "keys/inventory.yaml"
# A host name becomes a path (keys/hosts/<name>.asc, nodes/%{facts.hostname}.yaml): DNS labels only.
_LABEL = r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.IGNORECASE)
HOST_NAME_RULE = "dot-separated labels of letters, digits, '-' and '_', each starting and ending with a letter or digit"


@dataclass(frozen=True, slots=True)
class Inventory:
    hosts: Mapping[str, Mapping[str, Any]]
    admins: tuple[str, ...]
    source: str = INVENTORY

    def facts_of(self, host: str) -> Mapping[str, Any]:
        return inventory_facts({"hosts": self.hosts}, host, source=self.source)

    def host_facts(self, host: str, machine: Mapping[str, Any]) -> dict[str, Any]:
        """The facts `host` compiles with on an admin's machine: its inventory facts over this machine's."""
        return dict(gather_facts(system=machine, local={}, config={}, inventory=self.facts_of(host), host=host))


def load_inventory(root: Path) -> Inventory:
    """Read the inventory; a repository without one has no hosts and no admins."""
    text = inventory_text(root)
    return Inventory({}, ()) if text is None else parse_inventory(text)


def inventory_text(root: Path) -> str | None:
    """The inventory's text; None when the repository has none."""
    path = root / INVENTORY
    return formats.read_text(path, INVENTORY, error=ConfigError) if path.is_file() else None


def parse_inventory(text: str) -> Inventory:
    """The checked inventory of `text`, every refusal at its line of keys/inventory.yaml."""
    return _parse(formats.read_yaml(text, INVENTORY, error=ConfigError))


def _parse(document: Document) -> Inventory:
    """The checked inventory of `document`."""
    if document.value is None:
        return Inventory({}, ())
    data = document.value
    if not isinstance(data, dict):
        raise document.fail("the top level must be a hash with hosts and admins")
    formats.check_keys(document, data, allowed=("hosts", "admins"))
    hosts = data.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise document.fail("'hosts' must be a hash of host names to facts", "hosts")
    for name, facts in hosts.items():
        if not isinstance(name, str) or not HOST_NAME.fullmatch(name) or len(name) > 253:
            raise document.fail(f"host {name!r}: not a host name ({HOST_NAME_RULE})", "hosts", name)
        if not (facts is None or isinstance(facts, dict)):
            raise document.fail(f"host {name!r}: give its facts as a hash (role, environment, ...)", "hosts", name)
        _check_node_keys(document, name, facts or {})
    admins = data.get("admins") or []
    if not isinstance(admins, list) or not all(isinstance(a, str) for a in admins):
        raise document.fail("'admins' must be a list of names", "admins")
    return Inventory({name: dict(facts or {}) for name, facts in hosts.items()}, tuple(admins))


def _check_node_keys(document: Document, name: str, facts: dict[str, Any]) -> None:
    """`certname` is a name, `trusted_extensions` a hash (like `{pp_role: web}`)."""
    certname = facts.get(CERTNAME)
    if certname is not None and not (isinstance(certname, str) and certname.strip()):
        raise document.fail(
            f"host {name!r}: certname must be a host name, like web1.example.com", "hosts", name, CERTNAME
        )
    if not isinstance(facts.get(EXTENSIONS, {}), dict):
        raise document.fail(
            f"host {name!r}: trusted_extensions must be a hash, like {{pp_role: web}}", "hosts", name, EXTENSIONS
        )
