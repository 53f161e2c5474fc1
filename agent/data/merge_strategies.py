"""Hiera's merge behaviours (first, unique, hash, deep) as pure functions over found values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from agent.data.dotted_keys import ruby_class
from agent.errors import MergeError
from agent.formats import did_you_mean


class Strategy(StrEnum):
    FIRST = "first"
    UNIQUE = "unique"
    HASH = "hash"
    DEEP = "deep"


_OPTION_NAMES = ("strategy", "knockout_prefix", "sort_merged_arrays", "merge_hash_arrays", "merge_debug")


@dataclass(frozen=True, slots=True)
class MergeOptions:
    """A strategy and, for `deep`, the options of Puppet's deep_merge."""

    strategy: Strategy = Strategy.FIRST
    knockout_prefix: str | None = None
    sort_merged_arrays: bool = False
    merge_hash_arrays: bool = False

    @classmethod
    def parse(cls, spec: Any) -> MergeOptions:
        """From a strategy name or a hash {strategy: deep, knockout_prefix: '--', ...}."""
        if spec is None:
            return cls()
        if isinstance(spec, MergeOptions):
            return spec
        if isinstance(spec, str):
            return cls(_strategy(spec))
        if not isinstance(spec, dict):
            raise MergeError(f"a merge must be a strategy name or a hash, not {ruby_class(spec)}")
        if "strategy" not in spec:
            raise MergeError(
                "The hash given as 'merge' must contain the name of a strategy in string form for the key 'strategy'"
            )
        strategy = _strategy(spec["strategy"])
        for name in spec:
            if name not in _OPTION_NAMES or (strategy is not Strategy.DEEP and name != "strategy"):
                raise MergeError(f"The merge options has wrong type, unrecognized key '{name}'")
        prefix = spec.get("knockout_prefix")
        if prefix is not None and (not isinstance(prefix, str) or prefix == ""):
            raise MergeError("knockout_prefix must be a non-empty string")
        return cls(
            strategy,
            prefix,
            _flag(spec, "sort_merged_arrays"),
            _flag(spec, "merge_hash_arrays"),
        )

    def describe(self) -> str:
        extras = [f"knockout_prefix={self.knockout_prefix!r}"] if self.knockout_prefix else []
        extras += [name for name in ("sort_merged_arrays", "merge_hash_arrays") if getattr(self, name)]
        return f"{self.strategy}" + (f" ({', '.join(extras)})" if extras else "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": str(self.strategy)}
        if self.knockout_prefix:
            out["knockout_prefix"] = self.knockout_prefix
        for name in ("sort_merged_arrays", "merge_hash_arrays"):
            if getattr(self, name):
                out[name] = True
        return out


def _strategy(name: Any) -> Strategy:
    try:
        return Strategy(name)
    except ValueError:
        raise MergeError(f"Unknown merge strategy: '{name}'{did_you_mean(str(name), Strategy)}") from None


def _flag(spec: dict, name: str) -> bool:
    value = spec.get(name, False)
    if not isinstance(value, bool):
        raise MergeError(f"merge option '{name}' must be true or false, not {value!r}")
    return value


def merge_found(values: list[Any], options: MergeOptions) -> Any:
    """Merge values found for one key, highest priority first (at least one)."""
    if options.strategy is Strategy.FIRST:
        return values[0]
    if options.strategy is Strategy.UNIQUE:
        return _merge_unique(values)
    if options.strategy is Strategy.HASH:
        return _merge_hash(values)
    result = values[0]
    for lower in values[1:]:
        result = deep_merge(result, lower, options)
    return result


def _merge_unique(values: list[Any]) -> list[Any]:
    if len(values) == 1:  # Hiera de-duplicates a lone value, then flattens it without de-duplicating again
        value = values[0]
        return _flatten(_union(value, [])) if isinstance(value, list) else [value]
    result: list[Any] = []
    seen: set[Any] = set()
    for position, value in enumerate(values):
        if position > 0 and (value is None or isinstance(value, dict)):
            raise MergeError(
                "The second element of the merge has wrong type, expects a value of type Scalar or Array, "
                f"got {'Undef' if value is None else 'Struct'}"
            )
        for element in _flatten(value) if isinstance(value, list) else [value]:
            ident = identity(element)
            if ident not in seen:
                seen.add(ident)
                result.append(element)
    return result


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _merge_hash(values: list[Any]) -> Any:
    result = values[0]
    for lower in values[1:]:
        for which, value in (("first", result), ("second", lower)):
            if not isinstance(value, dict):
                raise MergeError(
                    f"The {which} element of the merge has wrong type, expects a Hash value, got {ruby_class(value)}"
                )
            if not all(isinstance(k, str) for k in value):
                raise MergeError(f"The {which} element of the merge has wrong type, expects a Hash[String, Data] value")
        result = {**lower, **result}
    return result


def identity(value: Any) -> Any:
    """A hashable identity that, like Ruby's eql?, never equates 1, 1.0 and true."""
    if isinstance(value, list):
        return ("array", tuple(identity(v) for v in value))
    if isinstance(value, dict):
        return ("hash", frozenset((identity(k), identity(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    """Ruby's Array#|: the elements of both, each once, in order of first appearance."""
    out: list[Any] = []
    seen: set[Any] = set()
    for element in (*first, *second):
        ident = identity(element)
        if ident not in seen:
            seen.add(ident)
            out.append(element)
    return out


def _clone(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def deep_merge(source: Any, dest: Any, options: MergeOptions) -> Any:
    """Merge `source` (higher priority) into `dest` as Puppet's deep merge (the deep_merge gem) does."""
    if source is None:
        return dest
    if dest is None or dest is False:
        return source
    if isinstance(source, dict):
        if not isinstance(dest, dict):
            return source if source else dest
        result = dict(dest)
        for key, value in source.items():
            existing = result.get(key)
            if existing is not None and existing is not False:
                result[key] = deep_merge(value, existing, options)
            else:
                result[key] = deep_merge(value, _clone(value), options)
        return result
    if isinstance(source, list):
        return _deep_merge_arrays(list(source), dest, options)
    return _overwrite(source, options)


def _deep_merge_arrays(source: list[Any], dest: Any, options: MergeOptions) -> Any:
    prefix = options.knockout_prefix
    if prefix and prefix in source:
        dest = type(dest)() if isinstance(dest, list | dict | str) else None
        source = [item for item in source if item != prefix]
    if not isinstance(dest, list):
        return _overwrite(source, options)
    dest = list(dest)
    if prefix:
        kept = []
        for item in source:
            if isinstance(item, str) and item.startswith(prefix):
                dest = [d for d in dest if d != item and d != item[len(prefix) :]]
            else:
                kept.append(item)
        source = kept
    if options.merge_hash_arrays and all(isinstance(i, dict) for i in (*source, *dest)):
        merged = [deep_merge(source[i] if i < len(source) else {}, d, options) for i, d in enumerate(dest)]
        result = merged + source[len(dest) :]
    else:
        result = _union(dest, source)
    if options.sort_merged_arrays:
        try:
            result.sort()
        except TypeError:
            raise MergeError("sort_merged_arrays: the merged array mixes values that cannot be compared") from None
    return result


def _overwrite(source: Any, options: MergeOptions) -> Any:
    prefix = options.knockout_prefix
    if not prefix:
        return source
    if isinstance(source, str):
        return "" if re.match(re.escape(prefix), source) else source
    if isinstance(source, list):
        return [item for item in source if not (isinstance(item, str) and item.startswith(prefix))]
    return source
