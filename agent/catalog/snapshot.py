"""A compiled catalog as plain data (tuples, dicts, strings, bytes, numbers) and back, locations included.

What the compile cache stores: marshal writes plain data exactly (int keys, bytes, tuples stay what they are)
and reads it back with no code run. A catalog holding anything else (a Secret, a date) has no snapshot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from agent.catalog.checks import Check
from agent.catalog.graph import Catalog, Edge, Relation
from agent.location import Location
from agent.resources import TYPES
from agent.resources.base import Resource

_RUNTIME = "_"  # fields the runner fills in (a name starting so) are not part of the compiled catalog
# How a field that is not plain data is written: a location, the define instances it came from, a read-only map.
_LOCATION, _WITHIN, _PROXY = "location", "within", "proxy"


def _where(location: Location) -> tuple[str, int | None]:
    return (location.file, location.line)


def _resource(resource: Resource) -> tuple[str, dict[str, Any], dict[str, str], tuple[str, ...]]:
    """The type, every field and attribute the compile set (a type's own, like an edit's `previous`, are set
    on the instance), how each that is not plain was written, and which are not constructor fields."""
    fields: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    declared = [spec.name for spec in dataclasses.fields(resource)]
    extras = tuple(name for name in getattr(resource, "__dict__", {}) if name not in declared)
    for name in (*declared, *extras):
        if name.startswith(_RUNTIME):
            continue
        value = getattr(resource, name)
        if isinstance(value, Location):
            value, kinds[name] = _where(value), _LOCATION
        elif name == "within":
            value, kinds[name] = tuple((instance, _where(where)) for instance, where in value), _WITHIN
        elif isinstance(value, MappingProxyType):
            value, kinds[name] = dict(value), _PROXY
        elif isinstance(value, Mapping) and not isinstance(value, dict):
            value = dict(value)
        fields[name] = value
    return resource.type_name, fields, kinds, tuple(name for name in extras if not name.startswith(_RUNTIME))


def _rebuilt(type_name: str, fields: dict[str, Any], kinds: dict[str, str], extras: tuple[str, ...]) -> Resource:
    for name, kind in kinds.items():
        value = fields[name]
        if kind == _LOCATION:
            fields[name] = Location(*value)
        elif kind == _WITHIN:
            fields[name] = tuple((instance, Location(*where)) for instance, where in value)
        elif kind == _PROXY:
            fields[name] = MappingProxyType(value)
        else:
            raise ValueError(f"unknown field kind {kind!r}")
    resource = TYPES[type_name](**{name: value for name, value in fields.items() if name not in extras})
    for name in extras:
        setattr(resource, name, fields[name])
    return resource


def to_plain(catalog: Catalog) -> tuple[Any, ...]:
    """The catalog as marshal-able data (marshal refuses what is not plain: the caller stores nothing then)."""
    return (
        catalog.host,
        tuple(_resource(resource) for resource in catalog.resources.values()),
        tuple((edge.source, edge.target, edge.relation.value) for edge in catalog.edges),
        tuple(catalog.classes),
        tuple((c.kind, c.target, c.options, _where(c.location), c.class_name) for c in catalog.checks),
        tuple(catalog.order),
        tuple(catalog.warnings),
        {name: tuple(members) for name, members in catalog.instances.items()},
        catalog.remove_dropped,
    )


def from_plain(data: tuple[Any, ...]) -> Catalog:
    """The catalog `to_plain` gave (ValueError, KeyError or TypeError for data that is not one)."""
    host, resources, edges, classes, checks, order, warnings, instances, remove_dropped = data
    catalog = Catalog(str(host))
    for type_name, fields, kinds, extras in resources:
        resource = _rebuilt(type_name, fields, kinds, extras)
        catalog.resources[resource.id] = resource
    catalog.edges = [Edge(source, target, Relation(relation)) for source, target, relation in edges]
    catalog.classes = list(classes)
    catalog.checks = [
        Check(kind, target, options, Location(*where), name) for kind, target, options, where, name in checks
    ]
    catalog.order = list(order)
    catalog.warnings = list(warnings)
    catalog.instances = {name: list(members) for name, members in instances.items()}
    catalog.remove_dropped = frozenset(remove_dropped)
    return catalog
