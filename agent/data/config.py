"""hiera.yaml (Hiera 5): defaults, hierarchy levels and their data locations, validated with file:line."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.data.yamlfile import yaml_error
from agent.errors import ConfigError
from agent.location import Location

CONFIG_NAME = "hiera.yaml"
DEFAULT_DATADIR = "data"
_LOCATION_KEYS = ("path", "paths", "glob", "globs", "mapped_paths")
_BACKEND_KEYS = ("data_hash", "lookup_key", "data_dig")
_LEVEL_KEYS = frozenset([*_LOCATION_KEYS, *_BACKEND_KEYS, "name", "datadir", "options", "uri", "uris"])
_TOP_KEYS = frozenset(["version", "defaults", "hierarchy", "default_hierarchy", "plan_hierarchy"])
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
    path = root / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no {name} in {root}", location=Location(name)) from None
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", location=Location(name)) from None
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as error:
        raise ConfigError(yaml_error(error, name).message, location=Location(name, _line(error))) from None
    if not isinstance(document, dict):
        raise ConfigError("must be a hash with version: 5 and a hierarchy", location=Location(name, 1))
    return _parse(root, name, document, node)


def _line(error: yaml.MarkedYAMLError) -> int | None:
    mark = error.problem_mark or error.context_mark
    return mark.line + 1 if mark else None


def _key_lines(node: Any) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


def _child(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v
    return None


def _parse(root: Path, name: str, document: dict, node: Any) -> HieraConfig:
    lines = _key_lines(node)

    def at(key: str) -> Location:
        return Location(name, lines.get(key))

    _refuse_unknown(document, _TOP_KEYS, lambda k: at(k), "key")
    if document.get("version") != 5:
        raise ConfigError(
            f"This runtime does not support hiera.yaml version {document.get('version')} (tend reads version 5)",
            location=at("version") if "version" in document else Location(name, 1),
        )
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError("'defaults' must be a hash", location=at("defaults"))
    _refuse_unknown(defaults, frozenset(["datadir", *_BACKEND_KEYS, "options"]), lambda k: at("defaults"), "key")
    default_backend = _backend(defaults, "defaults", at("defaults")) or "yaml"  # Hiera 5's default
    default_datadir = defaults.get("datadir", DEFAULT_DATADIR)
    hierarchy = document.get("hierarchy")
    if hierarchy is None:  # Hiera 5's default: one level, common.yaml in the datadir
        hierarchy = [{"name": "Common", "path": "common.yaml"}]
    if not isinstance(hierarchy, list):
        raise ConfigError("'hierarchy' must be a list of entries", location=at("hierarchy"))
    entry_nodes = getattr(_child(node, "hierarchy"), "value", [])
    levels = []
    seen: dict[str, int | None] = {}
    for index, entry in enumerate(hierarchy):
        entry_node = entry_nodes[index] if index < len(entry_nodes) else None
        location = Location(name, entry_node.start_mark.line + 1 if entry_node is not None else None)
        level = _level(entry, index, location, default_datadir, default_backend)
        if level.name in seen:
            raise ConfigError(
                f"Hierarchy name '{level.name}' defined more than once (first on line {seen[level.name]})",
                location=location,
            )
        seen[level.name] = location.line
        levels.append(level)
    return HieraConfig(root, tuple(levels), name)


def _refuse_unknown(mapping: dict, known: frozenset[str], where: Any, what: str) -> None:
    for key in mapping:
        if key not in known:
            hint = difflib.get_close_matches(str(key), sorted(known), n=1)
            more = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"unknown {what} '{key}'{more}", location=where(key))


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


def _level(entry: Any, index: int, location: Location, default_datadir: str, default_backend: str) -> Level:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ConfigError(f"entry 'hierarchy' index {index} expects a value for key 'name'", location=location)
    name = entry["name"]
    title = f"hierarchy entry '{name}'"
    for key in entry:
        if key not in _LEVEL_KEYS:
            hint = difflib.get_close_matches(str(key), sorted(_LEVEL_KEYS), n=1)
            more = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"entry 'hierarchy' index {index} unrecognized key '{key}'{more}", location=location)
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
    return Level(name, datadir, kind, patterns, location, mapped)


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
