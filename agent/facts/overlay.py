"""The overlay that layers facts: a mapping laid over a mapping merges, anything else replaces."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from agent.facts.lazy import LazyFacts


def overlay(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return a new dict of `base` with `override` laid over it; neither input is changed.

    The result shares no mutable value with the inputs, so callers may change it freely. `layered` is the
    same over lazy facts, keeping them lazy.
    """
    merged = {key: copy.deepcopy(value) for key, value in base.items()}
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, Mapping):
            merged[key] = overlay(below, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def layered(base: Mapping[str, Any], override: Mapping[str, Any]) -> Mapping[str, Any]:
    """`overlay(base, override)`: a dict of a dict, else lazy facts that read no value of `base` before theirs."""
    if isinstance(base, dict):
        return overlay(base, override)
    names = dict.fromkeys([*base, *override])
    return LazyFacts({name: _merged_reader(base, override, name) for name in names})


def _merged_reader(base: Mapping[str, Any], override: Mapping[str, Any], name: str) -> Any:
    def read() -> Any:
        if name not in override:
            return copy.deepcopy(base[name])
        value = override[name]
        if isinstance(value, Mapping) and name in base:
            below = base[name]
            if isinstance(below, dict):
                return overlay(below, value)
        return copy.deepcopy(value)

    return read
