"""Hiera's top-scope variables over a host's facts, each fact read only when a variable names it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from agent.facts.node import node_variables

_CERT = "clientcert"
_FACTS = "facts"


class _WithCert(Mapping[str, Any]):
    """`facts` as the scope shows it: the host's facts with `clientcert` (the certname) over them."""

    __slots__ = ("_cert", "_facts")

    def __init__(self, facts: Mapping[str, Any], cert: str):
        self._facts = facts
        self._cert = cert

    def __getitem__(self, name: str) -> Any:
        return self._cert if name == _CERT else self._facts[name]

    def __contains__(self, name: object) -> bool:
        return name == _CERT or name in self._facts

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._facts, _CERT]))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


class Scope(Mapping[str, Any]):
    """Every fact by name, `facts` (with `clientcert`), and Puppet's node variables (`clientcert`, `trusted`,
    `environment`) over them, as `{**facts, "clientcert": …, "facts": …, **node}` would hold them, without
    reading a fact no variable names (agent/catalog/tracking.py records what a compile read)."""

    __slots__ = ("_facts", "_node", "_with_cert")

    def __init__(self, facts: Mapping[str, Any]):
        self._facts = facts
        self._node = node_variables(facts)
        self._with_cert = _WithCert(facts, self._node[_CERT])

    def __getitem__(self, name: str) -> Any:
        if name in self._node:
            return self._node[name]
        if name == _FACTS:
            return self._with_cert
        return self._facts[name]

    def __contains__(self, name: object) -> bool:
        return name in self._node or name == _FACTS or name in self._facts

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._facts, _FACTS, *self._node]))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


def scope_of(facts: Mapping[str, Any]) -> Scope:
    """Top-scope variables: every fact by name, `facts` (with `clientcert`), and Puppet's node variables
    (`clientcert`, `trusted`, `environment`)."""
    return Scope(facts)
