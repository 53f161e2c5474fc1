"""A host's facts from the repository's inventory (keys/inventory.yaml), for `--host`."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

from agent.errors import ConfigError
from agent.location import Location

# Past this many names, "known: …" lists the first ones and counts the rest.
_MAX_LISTED = 20


def inventory_facts(inventory: Mapping[str, Any], host: str, *, source: str) -> dict:
    """Return a copy of `inventory["hosts"][host]`, the facts the inventory gives a host.

    `source` names the inventory file in errors. A host listed without facts has
    none; an unknown host is a ConfigError listing the known ones and suggesting
    the closest name.
    """
    hosts = inventory.get("hosts")
    if not isinstance(hosts, Mapping):
        raise ConfigError("'hosts' must be a mapping of host names to their facts", location=Location(source))
    if host not in hosts:
        raise ConfigError(unknown_host_message(host, [str(name) for name in hosts]), location=Location(source))
    facts = hosts[host]
    if facts is None:
        return {}
    if not isinstance(facts, Mapping):
        raise ConfigError(f"host '{host}': facts must be a mapping of names to values", location=Location(source))
    return copy.deepcopy(dict(facts))


def unknown_host_message(host: str, known: list[str]) -> str:
    """Return "unknown host 'x' (known: a, b, c)", with a did-you-mean when a known name is close."""
    names = sorted(known)
    listed = ", ".join(names[:_MAX_LISTED]) or "none"
    if len(names) > _MAX_LISTED:
        listed += f" and {len(names) - _MAX_LISTED} more"
    message = f"unknown host '{host}' (known: {listed})"
    close = difflib.get_close_matches(host, names, n=1)
    return f"{message}; did you mean '{close[0]}'?" if close else message
