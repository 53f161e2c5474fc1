"""Turns hierarchy levels into the data files one host searches: path interpolation, globs, mapped paths."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.data.config import Level
from agent.data.interpolate import Interpolator
from agent.errors import InterpolationError

_BRACES = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class DataLocation:
    """One candidate data file of one level, as resolved for a host's facts."""

    level: str
    original: str
    path: str  # relative to the repository root, normalised


def resolve_levels(levels: tuple[Level, ...], root: Path, scope: Mapping[str, Any]) -> list[DataLocation]:
    """Every candidate file of every level, in priority order (missing files included, for --explain)."""
    interpolator = Interpolator(scope, None, strict=False)
    out: list[DataLocation] = []
    for level in levels:
        try:
            out.extend(_level_locations(level, root, interpolator))
        except InterpolationError as error:
            error.location = error.location or level.location
            error.subject = error.subject or f"hierarchy entry '{level.name}'"
            raise
    return out


def _level_locations(level: Level, root: Path, interpolator: Interpolator) -> Iterator[DataLocation]:
    if level.kind == "mapped_paths":
        assert level.mapped is not None
        variable, element, template = level.mapped
        values = _scope_values(interpolator, variable)
        for value in values:
            scoped = Interpolator({**interpolator.scope, element: value}, None, strict=False)
            yield _location(level, template, scoped.interpolate(template))
        return
    for pattern in level.patterns:
        relative = interpolator.interpolate(pattern)
        if level.kind in ("glob", "globs"):
            for match in _glob(root / level.datadir, relative):
                yield _location(level, pattern, match)
        else:
            yield _location(level, pattern, relative)


def _scope_values(interpolator: Interpolator, variable: str) -> list[Any]:
    value = interpolator.scope_value(variable)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list):
        return value
    return [value]


def _location(level: Level, original: str, relative: str) -> DataLocation:
    return DataLocation(level.name, original, os.path.normpath(os.path.join(level.datadir, relative)))


def _glob(datadir: Path, pattern: str) -> list[str]:
    """Ruby's Dir.glob relative to datadir: `*`, `**`, `?`, `[...]` and `{a,b}`; sorted, files only."""
    found: set[str] = set()
    for expanded in expand_braces(pattern):
        for match in glob.glob(expanded, root_dir=datadir, recursive=True):
            if (datadir / match).is_file():
                found.add(match)
    return sorted(found)


def expand_braces(pattern: str) -> list[str]:
    match = _BRACES.search(pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    out: list[str] = []
    for choice in match.group(1).split(","):
        out.extend(expand_braces(head + choice + tail))
    return out
