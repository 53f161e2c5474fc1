"""The overlay that layers facts: a mapping laid over a mapping merges, anything else replaces."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def overlay(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return a new dict of `base` with `override` laid over it; neither input is changed.

    The result shares no mutable value with the inputs, so callers may change it freely.
    """
    merged = {key: copy.deepcopy(value) for key, value in base.items()}
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, Mapping):
            merged[key] = overlay(below, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
