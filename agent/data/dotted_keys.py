"""Hiera's dotted lookup keys: splitting `a.'b.c'.1` into segments and digging sub-keys out of a value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.errors import DataError

_SPECIAL = re.compile(r"['\".]")
_SEGMENT = re.compile(r"(\s*\"[^\"]+\"\s*|\s*'[^']+'\s*|[^'\".]+)")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")

Segment = str | int


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def split_key(key: str) -> tuple[Segment, ...]:
    """Split a dotted key; quoted segments keep their dots, unquoted integers index arrays."""
    if not _SPECIAL.search(key):
        return (key,)
    parts = _SEGMENT.split(key)
    while parts and parts[-1] == "":
        parts.pop()  # as Ruby's String#split drops trailing empty fields
    if len(parts) < 2 or parts[0] != "":
        raise DataError(f"Syntax error in key: {key!r}")
    rest = parts[1:]
    segments = [p for p in rest if p != "."]
    if len(segments) * 2 != len(rest) + 1 or "" in segments:
        raise DataError(f"Syntax error in key: {key!r}")
    return tuple(_segment(s) for s in segments)


def _segment(text: str) -> Segment:
    text = text.strip()
    if text[:1] in ("'", '"'):
        return text[1:-1]
    if _INTEGER.match(text):
        return int(text)
    return text


def dig(value: Any, segments: tuple[Segment, ...], key: str) -> Any:
    """Follow `segments` into `value`; MISSING when a segment is not there."""
    for segment in segments:
        if value is None:
            return MISSING
        if isinstance(segment, int) and isinstance(value, list):
            if not 0 <= segment < len(value):
                return MISSING
            value = value[segment]
            continue
        if not isinstance(value, Mapping):  # a dict, or the facts of a scope (agent/data/scope.py)
            raise DataError(
                f"Data Provider type mismatch: Got {ruby_class(value)} when a hash-like object was "
                f"expected to access value using '{segment}' from key '{key}'"
            )
        if segment not in value:
            return MISSING
        value = value[segment]
    return value


def ruby_class(value: Any) -> str:
    """The class name Ruby (and so Hiera's messages) would give a value."""
    if value is None:
        return "NilClass"
    if isinstance(value, bool):
        return "TrueClass" if value else "FalseClass"
    names = {int: "Integer", float: "Float", str: "String", list: "Array", dict: "Hash"}
    return names.get(type(value), type(value).__name__)
