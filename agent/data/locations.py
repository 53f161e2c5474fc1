"""Turns hierarchy levels into the data files one host searches: path interpolation, globs, mapped paths."""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.data.config import Level, leaves_repository
from agent.data.interpolate import Interpolator
from agent.data.repo_paths import inside_repository
from agent.errors import ConfigError, DataError, InterpolationError
from agent.location import Location

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
    datadir = interpolator.interpolate(level.datadir)
    if level.kind == "mapped_paths":
        assert level.mapped is not None
        variable, element, template = level.mapped
        for value in _scope_values(interpolator, variable):
            scoped = Interpolator(ChainMap({element: value}, interpolator.scope), None, strict=False)  # type: ignore[arg-type]
            yield _location(level, datadir, template, scoped.interpolate(template))
        return
    for pattern in level.patterns:
        relative = interpolator.interpolate(pattern)
        if level.kind in ("glob", "globs"):
            for match in ruby_glob(root / datadir, relative):
                yield _location(level, datadir, pattern, match)
        else:
            yield _location(level, datadir, pattern, relative)


def _scope_values(interpolator: Interpolator, variable: str) -> list[Any]:
    """mapped_paths' variable: a list, a string, or a hash (whose elements are [key, value] pairs)."""
    value = interpolator.scope_value(variable)
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return [[k, v] for k, v in value.items()]
    return value if isinstance(value, list) else [value]


def _location(level: Level, datadir: str, original: str, relative: str) -> DataLocation:
    """The candidate file, refused when facts (a host name of `../..`, say) take it out of the repository."""
    path = os.path.join(datadir, relative)
    if leaves_repository(path):
        raise ConfigError(
            f"hierarchy entry '{level.name}': {original!r} resolves to {path!r}, outside the repository "
            "(data must lie inside it)",
            location=level.location,
        )
    return DataLocation(level.name, original, os.path.normpath(path))


def resolve_inside(root: Path, path: str) -> Path:
    """`root/path` after symlinks; DataError naming `path` when a link takes it out of the repository."""
    full = (root / path).resolve()
    if not inside_repository(full, root):
        raise DataError(
            "a symlink takes this data file outside the repository (data must lie inside it)", location=Location(path)
        )
    return full


def ruby_glob(datadir: Path, pattern: str) -> list[str]:
    """Ruby's Dir.glob relative to datadir: `*`, `**/`, `?`, `[...]`, `{a,b}` (alternatives in written
    order); matches in Ruby's order, each directory's entries by name, depth first; files only."""
    files = list(_walk(datadir, ""))
    found: list[str] = []
    for expanded in expand_braces(pattern):
        regex = _glob_regex(expanded)
        found.extend(f for f in files if regex.fullmatch(f) and f not in found)
    return found


def _walk(directory: Path, prefix: str) -> Iterator[str]:
    try:
        names = sorted(os.listdir(directory), key=os.fsencode)
    except OSError:
        return
    for name in names:
        path = directory / name
        if path.is_dir():
            yield from _walk(path, f"{prefix}{name}/")
        elif path.is_file():
            yield f"{prefix}{name}"


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
            continue
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def expand_braces(pattern: str) -> list[str]:
    match = _BRACES.search(pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    out: list[str] = []
    for choice in match.group(1).split(","):
        out.extend(expand_braces(head + choice + tail))
    return out
