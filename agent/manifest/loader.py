"""Loads manifests/<class>.yaml (nested names from folders) into class definitions, validating their shape."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.errors import ManifestError
from agent.formats import Document, check_keys, did_you_mean, read_yaml_file
from agent.location import Location
from agent.manifest.model import CheckDeclaration, ClassDefinition, Declaration

MANIFESTS = "manifests"
_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_]*(::[a-z][a-z0-9_]*)*$")
_SECTIONS = ("parameters", "include", "resources", "checks")
_DEFINE_SECTIONS = ("define", "resources")
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

    def is_component(self, name: Any) -> bool:
        """Whether `name` may start a declaration as a define's instance: a class name with a manifest."""
        return isinstance(name, str) and bool(_CLASS_NAME.match(name)) and (self.root / class_file(name)).is_file()

    def load(self, name: str, *, wanted_at: Location | None = None, define: bool = False) -> ClassDefinition:
        """The class `name` (with `define`, the define `name`); each is what the other is not an error."""
        definition = self._load(name, wanted_at)
        if definition.define and not define:
            raise ManifestError(
                f"'{name}' is a define: declare it as a resource (`- {name}: <title>`), not as a class",
                location=wanted_at,
            )
        if define and not definition.define:
            raise ManifestError(
                f"'{name}' is a class, not a define: list it in `include:` or the data's `classes`",
                location=wanted_at,
            )
        return definition

    def _load(self, name: str, wanted_at: Location | None) -> ClassDefinition:
        if name in self._classes:
            return self._classes[name]
        if not isinstance(name, str) or not _CLASS_NAME.match(name):
            raise ManifestError(
                f"invalid class name {name!r} (lowercase words joined by ::, like nginx::vhost)", location=wanted_at
            )
        relative = class_file(name)
        path = self.root / relative
        document = read_yaml_file(path, relative, error=ManifestError) if path.is_file() else None
        if document is None:
            raise ManifestError(f"class '{name}' not found: no {relative}", location=wanted_at)
        definition = _parse(name, document, self.resource_types, self.is_component)
        self._classes[name] = definition
        return definition


def _parse(name: str, document: Document, types: tuple[str, ...], component: Callable[[Any], bool]) -> ClassDefinition:
    data = document.value if document.value is not None else {}
    if isinstance(data, dict) and "define" in data:
        return _parse_define(name, document, data, types, component)
    if not isinstance(data, dict):
        raise document.fail("a class manifest must be a hash of " + ", ".join(_SECTIONS))
    check_keys(document, data, allowed=_SECTIONS, unknown="unknown section")
    parameters = _parameters(document, data.get("parameters"), ("parameters",))
    includes = data.get("include") or []
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise document.fail("'include' must be a list of class names", "include")
    resources = _list(document, data, "resources")
    checks = _list(document, data, "checks")
    return ClassDefinition(
        name=name,
        location=Location(document.source, 1),
        parameters=parameters,
        parameter_lines={k: document.line("parameters", k) or 0 for k in parameters},
        includes=tuple((inc, document.at("include", i)) for i, inc in enumerate(includes)),
        resources=tuple(_declaration(item, i, name, document, types, component) for i, item in enumerate(resources)),
        checks=tuple(_check(item, i, name, document) for i, item in enumerate(checks)),
    )


def _parse_define(
    name: str, document: Document, data: dict, types: tuple[str, ...], component: Callable[[Any], bool]
) -> ClassDefinition:
    """`define: {parameters: {…}}` and `resources:`; a define has no includes, checks or Hiera parameters."""
    check_keys(document, data, allowed=_DEFINE_SECTIONS, unknown="unknown section of a define")
    header = data.get("define") or {}
    if not isinstance(header, dict):
        raise document.fail("'define' must be a hash (parameters: {name: default, …})", "define")
    check_keys(document, header, ("define",), allowed=("parameters",), prefix="define: ")
    parameters = _parameters(document, header.get("parameters"), ("define", "parameters"))
    if "title" in parameters:
        raise document.fail("'title' is the instance's title, always in scope: not a parameter", "define", "parameters")
    resources = _list(document, data, "resources")
    return ClassDefinition(
        name=name,
        location=Location(document.source, 1),
        parameters=parameters,
        parameter_lines={k: document.line("define", "parameters", k) or 0 for k in parameters},
        includes=(),
        resources=tuple(_declaration(item, i, name, document, types, component) for i, item in enumerate(resources)),
        checks=(),
        define=True,
    )


def _parameters(document: Document, parameters: Any, path: tuple[str, ...]) -> dict[str, Any]:
    parameters = parameters or {}
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        raise document.fail("'parameters' must be a hash of names to default values", *path)
    return parameters


def _list(document: Document, data: dict, section: str) -> list:
    items = data.get(section) or []
    if not isinstance(items, list):
        raise document.fail(f"'{section}' must be a list", section)
    return items


def _declaration(
    item: Any, index: int, cls: str, document: Document, types: tuple[str, ...], component: Callable[[Any], bool]
) -> Declaration:
    location = document.at("resources", index)
    if not isinstance(item, dict) or not item:
        raise ManifestError("a resource is written `- <type>: <title>` followed by its attributes", location=location)
    type_name, title = next(iter(item.items()))
    if type_name not in types and not component(type_name):
        raise ManifestError(f"unknown resource type '{type_name}'{_hint(type_name, types)}", location=location)
    if title is None or title == "" or isinstance(title, dict | list):
        raise ManifestError(f"{type_name}: the title must be a non-empty string", location=location)
    attributes = {k: v for k, v in item.items() if k != type_name}
    attribute_lines = {str(k): document.line("resources", index, k) or location.line or 0 for k in attributes}
    return Declaration(type_name, title, attributes, location, attribute_lines, cls)


def _check(item: Any, index: int, cls: str, document: Document) -> CheckDeclaration:
    location = document.at("checks", index)
    if not isinstance(item, dict) or not item:
        raise ManifestError(f"a check is written `- <{'|'.join(CHECK_KINDS)}>: <target>`", location=location)
    kind, target = next(iter(item.items()))
    if kind not in CHECK_KINDS:
        raise ManifestError(f"unknown check '{kind}'{_hint(kind, CHECK_KINDS)}", location=location)
    return CheckDeclaration(kind, target, {k: v for k, v in item.items() if k != kind}, location, cls)


def _hint(word: Any, choices: tuple[str, ...]) -> str:
    return did_you_mean(str(word), choices) or f" (known: {', '.join(choices)})"
