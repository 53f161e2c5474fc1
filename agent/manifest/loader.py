"""Loads manifests/<class>.yaml (nested names from folders) into class definitions, validating their shape."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from agent.data.yamlfile import parse_yaml_with_lines
from agent.errors import DataError, ManifestError
from agent.location import Location
from agent.manifest.model import CheckDeclaration, ClassDefinition, Declaration

MANIFESTS = "manifests"
_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_]*(::[a-z][a-z0-9_]*)*$")
_SECTIONS = ("parameters", "include", "resources", "checks")
CHECK_KINDS = ("http", "tcp", "command", "process")


def class_file(name: str) -> str:
    """`nginx::vhost` → `manifests/nginx/vhost.yaml`."""
    return f"{MANIFESTS}/{'/'.join(name.split('::'))}.yaml"


class ManifestLoader:
    """Reads each class's manifest once; `resource_types` are the type names a resource may start with."""

    def __init__(self, root: Path, resource_types: tuple[str, ...]):
        self.root = root
        self.resource_types = resource_types
        self._classes: dict[str, ClassDefinition] = {}

    def load(self, name: str, *, wanted_at: Location | None = None) -> ClassDefinition:
        if name in self._classes:
            return self._classes[name]
        if not isinstance(name, str) or not _CLASS_NAME.match(name):
            raise ManifestError(
                f"invalid class name {name!r} (lowercase words joined by ::, like nginx::vhost)", location=wanted_at
            )
        relative = class_file(name)
        path = self.root / relative
        if not path.is_file():
            raise ManifestError(f"class '{name}' not found: no {relative}", location=wanted_at)
        try:
            raw = path.read_bytes()
            text = raw.decode("utf-8")
        except OSError as error:
            raise ManifestError(f"cannot read: {error.strerror}", location=Location(relative)) from None
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            raise ManifestError(f"not UTF-8 text: {error.reason}", location=Location(relative, line)) from None
        try:
            data, lines = parse_yaml_with_lines(text, relative)
        except DataError as error:
            raise ManifestError(error.message, location=error.location) from None
        definition = _parse_class(name, relative, data, lines, self.resource_types)
        self._classes[name] = definition
        return definition


def _parse_class(name: str, file: str, data: Any, lines: dict, types: tuple[str, ...]) -> ClassDefinition:
    def at(*path: Any) -> Location:
        """The line of `path`, or of the nearest enclosing node that has one (a null key has none)."""
        while path and path not in lines:
            path = path[:-1]
        return Location(file, lines.get(path) or 1)

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ManifestError("a class manifest must be a hash of " + ", ".join(_SECTIONS), location=at())
    for key in data:
        if key not in _SECTIONS:
            raise ManifestError(f"unknown section '{key}'{_hint(key, _SECTIONS)}", location=at(key))
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        raise ManifestError("'parameters' must be a hash of names to default values", location=at("parameters"))
    includes = data.get("include") or []
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ManifestError("'include' must be a list of class names", location=at("include"))
    resources = _list(data, "resources", at)
    checks = _list(data, "checks", at)
    return ClassDefinition(
        name=name,
        location=Location(file, 1),
        parameters=parameters,
        parameter_lines={k: lines.get(("parameters", k), 0) for k in parameters},
        includes=tuple(
            (inc, at("include", i) if ("include", i) in lines else at("include")) for i, inc in enumerate(includes)
        ),
        resources=tuple(_declaration(item, i, name, file, lines, types) for i, item in enumerate(resources)),
        checks=tuple(_check(item, i, name, file, lines) for i, item in enumerate(checks)),
    )


def _list(data: dict, section: str, at: Any) -> list:
    items = data.get(section) or []
    if not isinstance(items, list):
        raise ManifestError(f"'{section}' must be a list", location=at(section))
    return items


def _declaration(item: Any, index: int, cls: str, file: str, lines: dict, types: tuple[str, ...]) -> Declaration:
    location = Location(file, lines.get(("resources", index)))
    if not isinstance(item, dict) or not item:
        raise ManifestError("a resource is written `- <type>: <title>` followed by its attributes", location=location)
    type_name, title = next(iter(item.items()))
    if type_name not in types:
        raise ManifestError(f"unknown resource type '{type_name}'{_hint(type_name, types)}", location=location)
    if title is None or title == "" or isinstance(title, dict | list):
        raise ManifestError(f"{type_name}: the title must be a non-empty string", location=location)
    attributes = {k: v for k, v in item.items() if k != type_name}
    attribute_lines = {str(k): lines.get(("resources", index, k), location.line or 0) for k in attributes}
    return Declaration(type_name, title, attributes, location, attribute_lines, cls)


def _check(item: Any, index: int, cls: str, file: str, lines: dict) -> CheckDeclaration:
    location = Location(file, lines.get(("checks", index)))
    if not isinstance(item, dict) or not item:
        raise ManifestError(f"a check is written `- <{'|'.join(CHECK_KINDS)}>: <target>`", location=location)
    kind, target = next(iter(item.items()))
    if kind not in CHECK_KINDS:
        raise ManifestError(f"unknown check '{kind}'{_hint(kind, CHECK_KINDS)}", location=location)
    return CheckDeclaration(kind, target, {k: v for k, v in item.items() if k != kind}, location, cls)


def _hint(word: Any, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(choices)})"
