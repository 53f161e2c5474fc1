"""hiera.yaml (Hiera 5): defaults, hierarchy levels and their data locations, validated with file:line."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.formats import Document, check_keys, read_yaml_file
from agent.location import Location

CONFIG_NAME = "hiera.yaml"
DEFAULT_DATADIR = "data"
_LOCATION_KEYS = ("path", "paths", "glob", "globs", "mapped_paths")
_BACKEND_KEYS = ("data_hash", "lookup_key", "data_dig")
_LEVEL_KEYS = frozenset([*_LOCATION_KEYS, *_BACKEND_KEYS, "name", "datadir", "options", "uri", "uris"])
_TOP_KEYS = frozenset(["version", "defaults", "hierarchy", "default_hierarchy", "plan_hierarchy"])
_DEFAULTS_KEYS = frozenset(["datadir", *_BACKEND_KEYS, "options"])
# eyaml's lookup_key reads YAML whose ENC[...] values tend decrypts itself.
_BACKENDS = {"yaml_data": "yaml", "json_data": "json", "eyaml_lookup_key": "yaml"}
_METHOD_SYNTAX = re.compile(r"%\{\s*\w+\(")


@dataclass(frozen=True, slots=True)
class Level:
    """One hierarchy entry: where its data files are, as patterns still to be interpolated."""

    name: str
    datadir: str  # relative to the repository
    kind: str  # one of _LOCATION_KEYS
    patterns: tuple[str, ...]
    location: Location
    mapped: tuple[str, str, str] | None = None


@dataclass(frozen=True, slots=True)
class HieraConfig:
    root: Path
    levels: tuple[Level, ...]
    source: str = CONFIG_NAME


def load_hiera_config(root: Path, name: str = CONFIG_NAME) -> HieraConfig:
    """Read `root/hiera.yaml`; every error names the file, the line and the hierarchy entry."""
    document = read_yaml_file(root / name, name, error=ConfigError)
    if document is None:
        raise ConfigError(f"no {name} in {root}", location=Location(name))
    if not isinstance(document.value, dict):
        raise document.fail("must be a hash with version: 5 and a hierarchy")
    return _parse(root, document)


def _parse(root: Path, document: Document) -> HieraConfig:
    config = document.value
    check_keys(document, config, allowed=_TOP_KEYS)
    if config.get("version") != 5:
        raise document.fail(
            f"This runtime does not support hiera.yaml version {config.get('version')} (tend reads version 5)",
            "version",
        )
    defaults = config.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise document.fail("'defaults' must be a hash", "defaults")
    check_keys(document, defaults, ("defaults",), allowed=_DEFAULTS_KEYS, prefix="defaults: ")
    default_backend = _backend(defaults, "defaults", document.at("defaults")) or "yaml"  # Hiera 5's default
    default_datadir = defaults.get("datadir", DEFAULT_DATADIR)
    hierarchy = config.get("hierarchy")
    if hierarchy is None:  # Hiera 5's default: one level, common.yaml in the datadir
        hierarchy = [{"name": "Common", "path": "common.yaml"}]
    if not isinstance(hierarchy, list):
        raise document.fail("'hierarchy' must be a list of entries", "hierarchy")
    levels = []
    seen: dict[str, int | None] = {}
    for index, entry in enumerate(hierarchy):
        location = document.at("hierarchy", index)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"entry 'hierarchy' index {index} expects a value for key 'name'", location=location)
        prefix = f"entry 'hierarchy' index {index} "
        check_keys(
            document, entry, ("hierarchy", index), allowed=_LEVEL_KEYS, prefix=prefix, unknown="unrecognized key"
        )
        level = _level(entry, location, default_datadir, default_backend)
        if level.name in seen:
            raise ConfigError(
                f"Hierarchy name '{level.name}' defined more than once (first on line {seen[level.name]})",
                location=location,
            )
        seen[level.name] = location.line
        levels.append(level)
    return HieraConfig(root, tuple(levels), document.source)


def _backend(entry: dict, title: str, location: Location) -> str | None:
    given = [k for k in _BACKEND_KEYS if k in entry]
    if len(given) > 1:
        raise ConfigError(f"Only one of {', '.join(_BACKEND_KEYS)} can be defined in {title}", location=location)
    if not given:
        return None
    function = entry[given[0]]
    if function not in _BACKENDS:
        raise ConfigError(
            f"{title}: backend {given[0]}: {function} is not supported (tend reads {', '.join(sorted(_BACKENDS))})",
            location=location,
        )
    return _BACKENDS[function]


def _level(entry: dict, location: Location, default_datadir: str, default_backend: str) -> Level:
    name = entry["name"]
    title = f"hierarchy entry '{name}'"
    if "uri" in entry or "uris" in entry:
        raise ConfigError(f"{title}: uri/uris need a lookup_key backend tend does not have", location=location)
    _backend(entry, title, location)  # refuses an unknown backend; yaml and json both load as YAML
    given = [k for k in _LOCATION_KEYS if k in entry]
    if len(given) != 1:
        raise ConfigError(f"{title}: give exactly one of {', '.join(_LOCATION_KEYS)}", location=location)
    kind = given[0]
    patterns, mapped = _patterns(kind, entry[kind], title, location)
    for pattern in (*patterns, *(mapped or ())):
        if _METHOD_SYNTAX.search(pattern):
            raise ConfigError(
                f"{title}: Interpolation using method syntax is not allowed in this context ({pattern!r})",
                location=location,
            )
    datadir = entry.get("datadir", default_datadir)
    if not isinstance(datadir, str) or not datadir:
        raise ConfigError(f"{title}: datadir must be a non-empty string", location=location)
    for path in (datadir, *(os.path.join(datadir, pattern) for pattern in patterns)):
        if leaves_repository(path):
            message = f"{title}: {path!r} is outside the repository (data must lie inside it)"
            raise ConfigError(message, location=location)
    return Level(name, datadir, kind, patterns, location, mapped)


def leaves_repository(path: str) -> bool:
    """A repository-relative path that is absolute or climbs above the top (`..` past it)."""
    return os.path.isabs(path) or os.path.normpath(path).split(os.sep, 1)[0] == os.pardir


def _patterns(kind: str, value: Any, title: str, location: Location) -> tuple[tuple[str, ...], Any]:
    if kind in ("path", "glob"):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{title}: {kind} must be a non-empty string", location=location)
        return (value,), None
    if kind == "mapped_paths":
        if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)):
            raise ConfigError(
                f"{title}: mapped_paths must be [variable, element name, path template]", location=location
            )
        return (value[2],), tuple(value)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{title}: {kind} must be a non-empty list of strings", location=location)
    return tuple(value), None
