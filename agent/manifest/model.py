"""What a manifest declares: classes, their parameters, includes, resources and smoke checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.location import Location


@dataclass(frozen=True, slots=True)
class Declaration:
    """One resource as written: `- <type>: <title>` and its attributes, still unrendered."""

    type: str
    title: Any
    attributes: dict[str, Any]
    location: Location
    attribute_lines: dict[str, int] = field(default_factory=dict)
    class_name: str = ""

    def where(self, attribute: str | None = None) -> Location:
        line = self.attribute_lines.get(attribute) if attribute else None
        return Location(self.location.file, line or self.location.line)


@dataclass(frozen=True, slots=True)
class CheckDeclaration:
    """A smoke check run after a converge that changed something (http, tcp, command, process)."""

    kind: str
    target: Any
    options: dict[str, Any]
    location: Location
    class_name: str = ""


@dataclass(frozen=True, slots=True)
class ClassDefinition:
    """A class, or with `define` a define (a reusable component instantiated as `- <name>: <title>`)."""

    name: str
    location: Location
    parameters: dict[str, Any]
    parameter_lines: dict[str, int]
    includes: tuple[tuple[str, Location], ...]
    resources: tuple[Declaration, ...]
    checks: tuple[CheckDeclaration, ...]
    define: bool = False
