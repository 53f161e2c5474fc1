"""The layering of facts: system, local, agent config, inventory under `--host`, then `--fact` overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.errors import ConfigError
from agent.facts.lazy import without
from agent.facts.node import NODE_KEYS
from agent.facts.overlay import layered, overlay


def gather_facts(
    *,
    system: Mapping[str, Any],
    local: Mapping[str, Any],
    config: Mapping[str, Any],
    inventory: Mapping[str, Any] | None = None,
    host: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Mapping[str, Any]:
    """Return the facts of a run, each layer deep-merged over the one before; no input is changed.

    The layers, lowest first: `system` facts, `local` facts, the agent config's
    `facts`, `inventory` (the facts the inventory gives `host`, see inventory_facts),
    then `overrides` (from --fact). With `host`, `hostname` is the host and `fqdn`
    is the host unless the inventory gives one, with `domain` following the fqdn. Over lazy `system` facts
    (agent/facts/lazy.py) the facts are lazy: a value is read and merged when first asked for.
    """
    facts = layered(system, local)
    facts = layered(facts, config_facts(config))
    if host is not None:  # node variables come from the inventory alone (certname, trusted_extensions)
        facts = layered(without(facts, NODE_KEYS), host_layer(host, inventory or {}))
    elif inventory:
        facts = layered(facts, inventory)
    return layered(facts, overrides or {})


def config_facts(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the `facts` mapping of the agent config, empty when it has none."""
    facts = config.get("facts")
    if facts is None:
        return {}
    if not isinstance(facts, Mapping):
        raise ConfigError("'facts' in the agent config must be a mapping of names to values")
    return facts


def host_layer(host: str, inventory: Mapping[str, Any]) -> dict:
    """Return the facts that stand a machine in for `host`: its inventory facts and its names."""
    fqdn = inventory.get("fqdn") or host
    names = {"hostname": host, "fqdn": fqdn, "domain": str(fqdn).partition(".")[2] or None}
    return {**overlay(names, inventory), "hostname": host}
