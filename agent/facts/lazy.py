"""Facts whose costly values (psutil's, systemd-detect-virt's, the resolver's) are worked out when first read.

A run whose catalog reads none of them pays for none of them. `LazyFacts` is a plain read-only Mapping: its
keys are known at once and each value is read once, then kept. Facts that are not a dict (LazyFacts, or a
mapping that records what is read) stay lazy through the layering (agent/facts/overlay.py) and Hiera's scope,
so that a template or an interpolation reads what it names and no more; a dict stays a dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agent.lazy import LazyMapping

Reader = Callable[[], Any]


class LazyFacts(LazyMapping[Reader, Any]):
    """Facts as `readers`: for each name, in order, what gives its value when first read."""

    def __init__(self, readers: Mapping[str, Reader]):
        super().__init__(readers, _call)

    def __repr__(self) -> str:
        return f"LazyFacts({sorted(self)})"


def _call(reader: Reader) -> Any:
    return reader()


def without(facts: Mapping[str, Any], names: Iterable[str]) -> Mapping[str, Any]:
    """`facts` less `names`: a dict of a dict, else lazy facts that read `facts` only as they are read."""
    dropped = set(names)
    if isinstance(facts, dict):
        return {name: value for name, value in facts.items() if name not in dropped}
    return LazyFacts({name: getter(facts, name) for name in facts if name not in dropped})


def replaced(facts: Mapping[str, Any], values: Mapping[str, Any]) -> Mapping[str, Any]:
    """`facts` with `values` in place of theirs (no merge): a dict of a dict, else lazy facts that read
    `facts` only as they are read."""
    if isinstance(facts, dict):
        return {**facts, **values}
    return LazyFacts({**{name: getter(facts, name) for name in facts}, **known(values)})


def getter(facts: Mapping[str, Any], name: str) -> Reader:
    """What reads `name` from `facts` when called (and not before)."""
    return lambda: facts[name]


def _constant(value: Any) -> Reader:
    return lambda: value


def known(values: Mapping[str, Any]) -> dict[str, Reader]:
    """Readers of values already known."""
    return {name: _constant(value) for name, value in values.items()}
