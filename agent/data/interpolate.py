"""Hiera's `%{...}` interpolation: scope variables, lookup/hiera/alias/literal/scope methods, recursion.

Hostile data is bounded: lookups nest at most MAX_DEPTH deep (a 3000-long chain would exhaust Python's
stack), and no interpolated string may grow past MAX_INTERPOLATED characters (a doubling chain reaches
gigabytes in 30 steps); each is a one-line InterpolationError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from agent.data.dotted_keys import MISSING, dig, split_key
from agent.data.encrypted import EncryptedValue
from agent.data.sensitive import SensitiveValue
from agent.errors import DataError, InterpolationError

_EXPRESSION = re.compile(r"%\{([^}]*)\}")
_METHOD = re.compile(r"^(\w+)\((?:\"([^\"]+)\"|'([^']+)')\)$")
_EMPTY = frozenset(["", "::", '""', "''", '"::"', "'::'"])
_METHODS = frozenset(["lookup", "hiera", "alias", "literal", "scope"])
MAX_DEPTH = 32  # nested interpolations; real hierarchies use a handful
MAX_INTERPOLATED = 1024 * 1024  # characters of one interpolated string

# Looks a key up for %{lookup('k')}: returns the value, or MISSING when not found.
LookupFunction = Callable[[str], Any]


class _SyntaxError(InterpolationError):
    """A `%{...}` that is neither a method call nor a variable name; reported with its whole string."""


def needs_interpolation(value: Any) -> bool:
    """True when a value holds a `%{` anywhere (strings, list items, hash keys and values)."""
    if isinstance(value, str):
        return "%{" in value
    if isinstance(value, list):
        return any(needs_interpolation(v) for v in value)
    if isinstance(value, dict):
        return any(needs_interpolation(k) or needs_interpolation(v) for k, v in value.items())
    return False


class Interpolator:
    """Interpolates data values against a scope (the facts) and, when allowed, other lookups."""

    def __init__(self, scope: Mapping[str, Any], lookup: LookupFunction | None = None, *, strict: bool = True):
        self.scope = scope
        self.lookup = lookup
        self.strict = strict
        self._active: list[str] = []

    def interpolate(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._string(value) if "%{" in value else value
        if isinstance(value, list):
            return [self.interpolate(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                new_key = self.interpolate(key)
                if isinstance(new_key, list | dict):
                    raise InterpolationError(
                        f"the hash key {key!r} must interpolate to a string, not a {type(new_key).__name__}"
                    )
                out[new_key] = self.interpolate(item)
            return out
        return value

    def _string(self, subject: str) -> Any:
        pieces: list[str] = []
        position = 0
        for match in _EXPRESSION.finditer(subject):
            pieces.append(subject[position : match.start()])
            position = match.end()
            expression = match.group(1).strip()
            if expression in _EMPTY:
                continue
            method, key = self._parse(expression)
            if method == "alias":
                if match.group(0) != subject:
                    raise InterpolationError(
                        "'alias' interpolation is only permitted if the expression is equal to the entire string"
                    )
                return self.guard(key, partial(self._resolve, "alias", key))
            if method == "literal":
                pieces.append(key)
                continue
            name = f"scope:{key}" if method == "scope" else key
            try:
                value = self.guard(name, partial(self._interpolated, method, key))
            except _SyntaxError:
                raise InterpolationError(f"Syntax error in string: {subject}") from None
            pieces.append(to_text(value, expression))
            _check_size(sum(map(len, pieces)), expression)
        pieces.append(subject[position:])
        _check_size(sum(map(len, pieces)), subject[:40])
        return "".join(pieces)

    def _parse(self, expression: str) -> tuple[str, str]:
        match = _METHOD.match(expression)
        if match:
            if self.lookup is None:
                raise InterpolationError("Interpolation using method syntax is not allowed in this context")
            method = match.group(1)
            if method not in _METHODS:
                raise InterpolationError(f"Unknown interpolation method '{method}'")
            return method, match.group(2) or match.group(3)
        return "scope", expression

    def guard(self, key: str, compute: Callable[[], Any]) -> Any:
        """Run `compute` for `key`, refusing a key that is already being resolved (a cycle)."""
        if key in self._active:
            raise InterpolationError(f"Recursive lookup detected in [{', '.join(self._active)}]")
        if len(self._active) >= MAX_DEPTH:
            raise InterpolationError(
                f"interpolation nested deeper than {MAX_DEPTH} lookups ({self._active[0]} -> … -> {key})"
            )
        self._active.append(key)
        try:
            return compute()
        finally:
            self._active.pop()

    def _resolve(self, method: str, key: str) -> Any:
        if method == "scope":
            return self.scope_value(key)
        assert self.lookup is not None
        value = self.lookup(key)
        return "" if value is MISSING else value

    def _interpolated(self, method: str, key: str) -> Any:
        return self.interpolate(self._resolve(method, key))

    def scope_value(self, expression: str) -> Any:
        name = expression[2:] if expression.startswith("::") else expression
        try:
            segments = split_key(name)
        except DataError:
            raise _SyntaxError(f"Syntax error in string: %{{{expression}}}") from None
        root = segments[0]
        if not isinstance(root, str) or root not in self.scope:
            if self.strict:
                raise InterpolationError(f"Unknown variable: '{root}' (in %{{{expression}}})")
            return ""
        try:
            value = dig(self.scope[root], segments[1:], name)
        except DataError as error:
            raise InterpolationError(error.message) from None
        if isinstance(value, Mapping) and not isinstance(value, dict):
            return dict(value)  # lazy facts (agent/facts/lazy.py), whole: data holds dicts
        return None if value is MISSING else value


def _check_size(size: int, what: str) -> None:
    if size > MAX_INTERPOLATED:
        raise InterpolationError(
            f"interpolating {what!r} builds a string of {size:,} characters, over the limit of {MAX_INTERPOLATED:,}"
        )


def to_text(value: Any, expression: str) -> str:
    """A value as Ruby's to_s would print it inside an interpolated string."""
    if isinstance(value, str):
        return value
    if isinstance(value, EncryptedValue):
        raise InterpolationError(
            f"%{{{expression}}} is an encrypted value ({value.file}) and cannot be interpolated into a "
            "string; use %{alias(...)} for the whole value, or look it up in a manifest or template"
        )
    if isinstance(value, SensitiveValue):
        raise InterpolationError(
            f"%{{{expression}}} is marked Sensitive (convert_to in lookup_options) and cannot be interpolated "
            "into a string; use %{alias(...)} for the whole value"
        )
    if value is None:
        return ""
    if isinstance(value, Mapping) and not isinstance(value, dict):
        value = dict(value)  # `%{facts}`: the scope's view of the facts (agent/data/scope.py)
    return ruby_inspect(value, top=True)


def ruby_inspect(value: Any, *, top: bool = False) -> str:
    if value is None:
        return "" if top else "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if top else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) < 1e16 else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(ruby_inspect(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{ruby_inspect(k)}=>{ruby_inspect(v)}" for k, v in value.items()) + "}"
    return str(value)
