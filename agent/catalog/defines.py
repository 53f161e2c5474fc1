"""Defines (reusable components): each `- <define>: <title>` instance expanded into its define's resources."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.catalog.render import Renderer
from agent.data.dotted_keys import MISSING
from agent.errors import ManifestError
from agent.formats import did_you_mean
from agent.location import Location
from agent.manifest.loader import ManifestLoader
from agent.manifest.model import ClassDefinition, Declaration
from agent.resources.base import META, RELATIONS, Resource

# What expands one declaration (a resource's or an instance's) into resources and their references.
Expand = Callable[[Declaration, dict[str, Any], list[str]], list[tuple[Resource, dict[str, Any]]]]
# Only these reach a define's body: its own parameters and title stand in for the class's parameters.
_INHERITED = ("facts", "lookup")


@dataclass(frozen=True, slots=True)
class Origin:
    """An instance as the source of the relations written on it: each holds for all its resources."""

    id: str
    location: Location
    attribute_lines: Mapping[str, int]

    def where(self, attribute: str | None = None) -> Location:
        line = self.attribute_lines.get(attribute) if attribute else None
        return Location(self.location.file, line or self.location.line)


class Instances:
    """Expands define instances for one compiler; `relations` collects the relations written on instances."""

    def __init__(self, loader: ManifestLoader, renderer: Renderer, expand: Expand):
        self.loader = loader
        self.renderer = renderer
        self.expand_declaration = expand
        self.relations: list[tuple[Origin, str, Any]] = []
        self._stack: list[str] = []

    def take_relations(self) -> list[tuple[Origin, str, Any]]:
        relations, self.relations = self.relations, []
        return relations

    def expand(
        self, declaration: Declaration, variables: dict[str, Any], warnings: list[str]
    ) -> list[tuple[Resource, dict[str, Any]]]:
        """Every resource of every instance the declaration makes (one per `loop` item, unless `when` is false)."""
        define = self.loader.load(declaration.type, wanted_at=declaration.location, define=True)
        if define.name in self._stack:
            chain = " -> ".join([*self._stack, define.name])
            raise ManifestError(f"define instantiates itself: {chain}", location=declaration.location)
        attributes = dict(declaration.attributes)
        loop = attributes.pop("loop", None)
        items: list[Any] = [MISSING]
        if loop is not None:
            items = self._render(declaration, loop, variables, "loop")
            if not isinstance(items, list):
                raise ManifestError(f"loop must give a list, not {items!r}", location=declaration.where("loop"))
        out: list[tuple[Resource, dict[str, Any]]] = []
        self._stack.append(define.name)
        try:
            for item in items:
                scope = variables if item is MISSING else {**variables, "item": item}
                out += self._instance(define, declaration, dict(attributes), scope, warnings)
        finally:
            self._stack.pop()
        return out

    def _render(self, declaration: Declaration, value: Any, variables: dict[str, Any], attribute: str | None) -> Any:
        try:
            return self.renderer.value(value, variables, declaration.where(attribute)).value
        except ManifestError as error:
            error.subject = error.subject or f"{declaration.type}:{declaration.title}"
            raise

    def _instance(
        self,
        define: ClassDefinition,
        declaration: Declaration,
        attributes: dict[str, Any],
        variables: dict[str, Any],
        warnings: list[str],
    ) -> list[tuple[Resource, dict[str, Any]]]:
        when = attributes.pop("when", None)
        if when is not None and not self._render(declaration, when, variables, "when"):
            return []
        rendered = self.renderer.value(declaration.title, variables, declaration.location)
        if rendered.sensitive or not isinstance(rendered.value, str | int) or rendered.value == "":
            raise ManifestError(
                "the title of an instance must be a non-empty string, never computed from a secret",
                location=declaration.location,
                subject=f"{declaration.type}:{declaration.title}",
            )
        origin = Origin(f"{define.name}:{rendered.value}", declaration.location, declaration.attribute_lines)
        meta = {name: self._render(declaration, attributes.pop(name), variables, name)
                for name in META if name in attributes}  # fmt: skip
        scope = {name: variables[name] for name in _INHERITED if name in variables}
        scope.update(self._parameters(define, declaration, origin, attributes, variables))
        scope["title"] = str(rendered.value)
        members: list[tuple[Resource, dict[str, Any]]] = []
        for body in define.resources:
            body = dataclasses.replace(body, class_name=declaration.class_name)
            try:
                members += self.expand_declaration(body, scope, warnings)
            except ManifestError as error:
                error.message += f" (in {origin.id}, declared at {origin.location})"
                raise
        for resource, _ in members:
            _adopt(resource, origin, meta, define.name)
        self.relations += [(origin, name, meta[name]) for name in RELATIONS if meta.get(name) is not None]
        return members

    def _parameters(
        self,
        define: ClassDefinition,
        declaration: Declaration,
        origin: Origin,
        given: dict[str, Any],
        variables: dict[str, Any],
    ) -> dict[str, Any]:
        """The instance's parameters: as given (rendered in the caller's scope), else the define's defaults."""
        for name in given:
            if name not in define.parameters:
                hint = did_you_mean(name, [*define.parameters, *META]) or (
                    f" (parameters: {', '.join(define.parameters) or 'none'})"
                )
                raise ManifestError(
                    f"unknown parameter '{name}' of define {define.name}{hint}",
                    location=declaration.where(name),
                    subject=origin.id,
                )
        values: dict[str, Any] = {}
        for name, default in define.parameters.items():
            if name in given:
                values[name] = self._render(declaration, given[name], variables, name)
            elif default is None:
                raise ManifestError(
                    f"parameter '{name}' of define {define.name} is required (its default is null)",
                    location=declaration.location,
                    subject=origin.id,
                )
            else:
                values[name] = default
        return values


def _adopt(resource: Resource, origin: Origin, meta: Mapping[str, Any], define: str) -> None:
    """A resource of an instance: within it, tagged with its tags and the define's name, and dropped as the
    instance says unless it says otherwise itself."""
    resource.within = ((origin.id, origin.location), *resource.within)
    tags = meta.get("tags") or []
    resource.tags = (*resource.tags, *(str(t) for t in ([tags] if isinstance(tags, str) else tags)), define)
    if resource.on_drop is None and meta.get("on_drop") is not None:
        resource.on_drop = str(meta["on_drop"])
        resource.check_on_drop()


def members(resources: Iterable[Resource]) -> dict[str, list[str]]:
    """Each instance's resources, those of the instances nested in it included."""
    found: dict[str, list[str]] = {}
    for resource in resources:
        for instance, _ in resource.within:
            found.setdefault(instance, []).append(resource.id)
    return found


def duplicate(resource: Resource, other: Resource) -> ManifestError:
    """Two declarations of one resource, each named with the instances that declared it."""

    def named(r: Resource) -> str:
        return "".join(f" in {instance} ({where})" for instance, where in reversed(r.within))

    if not resource.within and not other.within:
        return resource.declared_twice(other)
    return ManifestError(
        f"declared twice: at {resource.location}{named(resource)}, and at {other.location}{named(other)} ({other.id})",
        location=(resource.within[0][1] if resource.within else resource.location),
        subject=resource.id,
    )
