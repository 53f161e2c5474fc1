"""Puppet's node variables: `clientcert`, `trusted` and `environment`, from the certname and the inventory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.facts.lazy import replaced

# The inventory keys that give a host its node variables rather than facts of the machine.
CERTNAME = "certname"
EXTENSIONS = "trusted_extensions"
NODE_KEYS = (CERTNAME, EXTENSIONS)


def certname_of(facts: Mapping[str, Any]) -> str:
    """The certname: `certname` when given, else `fqdn`, else the host name."""
    return str(facts.get(CERTNAME) or facts.get("fqdn") or facts.get("hostname") or "")


def node_variables(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The top-scope variables Puppet gives every node, as its agent without a certificate has them.

    `trusted.hostname` and `trusted.domain` split the certname at its first dot (no dot: no domain);
    `trusted.extensions` are the host's `trusted_extensions`; `environment` is the environment fact.
    """
    certname = certname_of(facts)
    hostname, _, domain = certname.partition(".")
    extensions = facts.get(EXTENSIONS)
    trusted = {
        "authenticated": "local",
        "certname": certname,
        "domain": domain or None,
        "extensions": dict(extensions) if isinstance(extensions, Mapping) else {},
        "external": {},
        "hostname": hostname,
    }
    out: dict[str, Any] = {"clientcert": certname, "trusted": trusted}
    if "environment" in facts:
        out["environment"] = facts["environment"]
    return out


def pin_to_inventory(
    facts: Mapping[str, Any], entry: Mapping[str, Any], host: str
) -> tuple[Mapping[str, Any], list[str]]:
    """A host's own facts with its node variables taken from its inventory `entry` (what `--host`
    compiles, and so what its secrets' readers were derived from), and a warning for each that differs."""
    wanted = {CERTNAME: certname_of({**entry, "hostname": host}), EXTENSIONS: dict(entry.get(EXTENSIONS) or {})}
    own = {CERTNAME: certname_of(facts), EXTENSIONS: dict(facts.get(EXTENSIONS) or {})}
    warnings = [
        f"this host's {name} {own[name]!r} differs from keys/inventory.yaml's {wanted[name]!r} for {host}; "
        f"using the inventory's (set {name} there, or fix this host)"
        for name in NODE_KEYS
        if own[name] != wanted[name]
    ]
    return replaced(facts, wanted), warnings
