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
_CONVERT = (
    'convert it to version 5 (Puppet\'s docs: "Convert a version 3 hiera.yaml to version 5", '
    "https://www.puppet.com/docs/puppet/7/hiera_migrate)"
)


@dataclass(frozen=True, slots=True)
class Level:
    """One hierarchy entry: where its data files are, as patterns still to be interpolated."""

    name: str
    datadir: str  # relative to the repository
    kind: str  # one of _LOCATION_KEYS
    patterns: tuple[str, ...]
    location: Location
    mapped: tuple[str, str, str] | None = None
    backend: str = "yaml"  # how its files parse: "yaml" or "json"


@dataclass(frozen=True, slots=True)
class HieraConfig:
    root: Path
    levels: tuple[Level, ...]
    source: str = CONFIG_NAME


def load_hiera_config(root: Path, name: str = CONFIG_NAME, *, base: str = "") -> HieraConfig:
    """Read `root/name`; every error names the file, the line and the hierarchy entry.

    `base` is the folder (relative to `root`) the datadirs are relative to: a module's own folder.
    """
    document = read_yaml_file(root / name, name, error=ConfigError)
    if document is None:
        raise ConfigError(f"no {name} in {root}", location=Location(name))
    if not isinstance(document.value, dict):
        raise document.fail("must be a hash with version: 5 and a hierarchy")
    return _parse(root, document, base)


def _check_version(document: Document) -> None:
    """Hiera 3 (no version, `:backends:`) and version 4 files are named as such, with the way out."""
    config = document.value
    version = config.get("version", config.get(":version"))
    if version is None or version == 3:
        legacy = sorted(str(k) for k in config if str(k).startswith(":"))
        why = " (a file without a version is Hiera 3" + (f"; it has {', '.join(legacy[:3])}" if legacy else "") + ")"
        raise document.fail(
            f"This runtime does not support hiera.yaml version 3 (tend reads version 5){why if version is None else ''}"
            f": {_CONVERT}",
            *(("version",) if version is not None else ()),
        )
    if version != 5:
        how = f": {_CONVERT}" if version == 4 else ""
        raise document.fail(
            f"This runtime does not support hiera.yaml version {version} (tend reads version 5){how}", "version"
        )


def _parse(root: Path, document: Document, base: str = "") -> HieraConfig:
    config = document.value
    _check_version(document)
    check_keys(document, config, allowed=_TOP_KEYS)
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
        level = _level(entry, location, default_datadir, default_backend, base)
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


def _level(entry: dict, location: Location, default_datadir: str, default_backend: str, base: str) -> Level:
    name = entry["name"]
    title = f"hierarchy entry '{name}'"
    if "uri" in entry or "uris" in entry:
        raise ConfigError(f"{title}: uri/uris need a lookup_key backend tend does not have", location=location)
    backend = _backend(entry, title, location) or default_backend
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
    if base:
        datadir = f"{base}/{datadir}"
    for path in (datadir, *(os.path.join(datadir, pattern) for pattern in patterns)):
        if leaves_repository(path):
            message = f"{title}: {path!r} is outside the repository (data must lie inside it)"
            raise ConfigError(message, location=location)
    return Level(name, datadir, kind, patterns, location, mapped, backend)


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
