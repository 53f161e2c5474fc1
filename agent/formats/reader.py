"""The one YAML reader: safe loading, file:line for every error, duplicate keys, and limits hostile input meets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent.errors import DataError, TendError
from agent.formats.document import Document, DuplicateKey, Duplicates
from agent.location import Location

# Far beyond any real file, and small enough that what reads the values later (merges, interpolation,
# JSON) cannot be made to recurse or to expand without bound.
MAX_DEPTH = 100
MAX_ALIAS_VALUES = 100_000  # values that aliases may add, each alias counted as a copy of what it names
MAX_INT_DIGITS = 100

_YAML = "tag:yaml.org,2002:"
# The tags of plain values; a file that names any other (!!python/..., !!binary, !custom) is refused.
_EXPLICIT = {_YAML + kind: kind for kind in ("int", "float", "bool")}
_TAGS = frozenset(_YAML + name for name in ("null", "bool", "int", "float", "str", "seq", "map", "merge", "timestamp"))
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Called for each string scalar with its text, line (1-based) and column (0-based); returns the value to use.
StringHook = Callable[[str, int, int], Any]


class _Loader(_Base):  # type: ignore[misc]  # _Base is libyaml's loader when there is one: chosen at run time
    """The safe loader; a hook, when given, turns string scalars into other values (encrypted ones)."""

    strings: StringHook | None = None
    source_text = ""


class _HookLoader(_Loader):
    """The same with the hook: a loader of its own, so files read without one pay nothing per string."""

    strings: StringHook


def _construct_str(loader: _HookLoader, node: yaml.ScalarNode) -> Any:
    return loader.strings(loader.construct_scalar(node), node.start_mark.line + 1, node.start_mark.column)


_HookLoader.add_constructor(_YAML + "str", _construct_str)


def read_yaml(
    text: str,
    source: str,
    *,
    error: type[TendError],
    duplicates: Duplicates = Duplicates.REFUSE,
    strings: StringHook | None = None,
) -> Document:
    """Parse one YAML document; every refusal is an `error` naming `source` and the line."""
    loader = _HookLoader(text) if strings is not None else _Loader(text)
    loader.strings = strings
    loader.source_text = text
    try:
        root = loader.get_single_node()
        if root is None:
            return Document(source, None, None, error)
        found = _Inspection(loader, source, error, duplicates).run(root)
        return Document(source, loader.construct_document(root), root, error, found)
    except yaml.MarkedYAMLError as problem:
        raise yaml_error(problem, source, error) from None
    except yaml.YAMLError as problem:
        raise _unmarked_error(problem, text, source, error) from None
    except RecursionError:  # the pure-Python composer, without libyaml's own nesting limit
        raise error(f"nested more than {MAX_DEPTH} levels deep", location=Location(source)) from None
    finally:
        loader.dispose()


def read_yaml_file(path: Path, source: str, *, error: type[TendError], **options: Any) -> Document | None:
    """Read and parse a UTF-8 YAML file as `read_yaml` does (same options); None when it does not exist."""
    text = read_text(path, source, error=error)
    return None if text is None else read_yaml(text, source, error=error, **options)


def read_text(path: Path, source: str, *, error: type[TendError]) -> str | None:
    """A file's UTF-8 text; None when it does not exist; an `error` naming `source` when it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as problem:
        raise error(f"cannot read: {problem.strerror}", location=Location(source)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        line = raw.count(b"\n", 0, problem.start) + 1
        raise error(f"not UTF-8 text: {problem.reason}", location=Location(source, line)) from None


def yaml_error(problem: yaml.MarkedYAMLError, source: str, error: type[TendError] = DataError) -> TendError:
    """An `error` naming the file and line of a YAML syntax error."""
    mark = problem.problem_mark or problem.context_mark
    line = mark.line + 1 if mark else None
    what = problem.problem or problem.context or "not YAML"
    if problem.context and problem.problem:
        what = f"{problem.context}, {problem.problem}"
    return error(f"Unable to parse YAML: {what}", location=Location(source, line))


def _unmarked_error(problem: yaml.YAMLError, text: str, source: str, error: type[TendError]) -> TendError:
    """A reader error (a control character, say) has a character position, not a line: count it."""
    position = getattr(problem, "position", None)
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    reason = getattr(problem, "reason", None) or str(problem)
    character = getattr(problem, "character", None)
    detail = f"{reason} (character {character!r})" if character is not None else reason
    return error(f"Unable to parse YAML: {detail}", location=Location(source, line))


class _Inspection:
    """One walk over the composed nodes before any value is built: what hostile or careless input holds.

    An alias is the very node of its anchor, so a node met again is an alias: met while still
    inside it, a structure that contains itself; met after, a copy whose size counts toward the limit.
    """

    def __init__(self, loader: _Loader, source: str, error: type[TendError], duplicates: Duplicates):
        self.loader = loader
        self.source = source
        self.error = error
        self.duplicates = duplicates
        self.found: list[DuplicateKey] = []

    def fail(self, message: str, node: yaml.Node) -> TendError:
        return self.error(message, location=Location(self.source, node.start_mark.line + 1))

    def run(self, root: yaml.Node) -> tuple[DuplicateKey, ...]:
        sizes: dict[int, int] = {}  # expanded size of each node done
        inside: set[int] = set()
        added = 0
        # (node, where it is used: its key in a hash, else its list; depth; whether the walk is leaving it)
        stack: list[tuple[yaml.Node, yaml.Node, int, bool]] = [(root, root, 1, False)]
        while stack:
            node, used_at, depth, leaving = stack.pop()
            key = id(node)
            if leaving:
                inside.discard(key)
                sizes[key] = 1 + sum(sizes[id(child)] for child, _ in _children(node))
                continue
            if key in sizes:
                added += sizes[key]
                if added > MAX_ALIAS_VALUES:
                    raise self.fail(
                        f"aliases expand to more than {MAX_ALIAS_VALUES:,} values (an alias bomb?)", used_at
                    )
                continue
            if key in inside:
                line = _alias_inside(self.loader, node) or used_at.start_mark.line + 1
                raise self.error(
                    "an alias refers to its own anchor (a structure that contains itself)",
                    location=Location(self.source, line),
                )
            self.check(node, depth)
            if isinstance(node, yaml.ScalarNode):
                sizes[key] = 1
                continue
            inside.add(key)
            stack.append((node, used_at, depth, True))
            stack.extend((child, at, depth + 1, False) for child, at in reversed(_children(node)))
        return tuple(sorted(self.found, key=lambda duplicate: duplicate.location.line or 0))

    def check(self, node: yaml.Node, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep", node)
        if node.tag not in _TAGS:
            raise self.fail(f"unsupported tag '{node.tag.replace(_YAML, '!!')}' (tend reads plain YAML values)", node)
        digits = sum(c.isdigit() for c in node.value) if node.tag == _YAML + "int" else 0
        if digits > MAX_INT_DIGITS:
            raise self.fail(f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS})", node)
        if node.tag == _YAML + "timestamp":
            try:
                self.loader.construct_yaml_timestamp(node)
            except ValueError as problem:
                raise self.fail(f"not a valid date or time: {node.value!r} ({problem})", node) from None
        kind = _EXPLICIT.get(node.tag) if isinstance(node, yaml.ScalarNode) else None
        if kind is not None:
            # An explicit tag on text that is no such value (`!!float ""`): PyYAML's constructors fail raw.
            try:
                getattr(self.loader, f"construct_yaml_{kind}")(node)
            except (ValueError, IndexError, KeyError):
                raise self.fail(f"not a valid {kind}: {node.value!r}", node) from None
        if isinstance(node, yaml.MappingNode):
            self.keys(node)

    def keys(self, node: yaml.MappingNode) -> None:
        first: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _YAML + "merge":
                continue
            line = key_node.start_mark.line + 1
            ident = (key_node.tag, key_node.value)
            if ident not in first:
                first[ident] = line
                continue
            duplicate = DuplicateKey(key_node.value, Location(self.source, line), first[ident])
            if self.duplicates is Duplicates.REFUSE:
                raise self.error(duplicate.message, location=duplicate.location)
            self.found.append(duplicate)


def _alias_inside(loader: _Loader, node: yaml.Node) -> int | None:
    """The line of the first alias to `node`'s anchor written inside it: composed, an alias is its anchor's
    node and keeps no place of its own, so the text is read again as events (only for this refusal)."""
    anchor = None
    for event in yaml.parse(loader.source_text, Loader=type(loader)):
        mark = event.start_mark
        assert mark is not None, "the parser marks every event"
        index = mark.index
        if anchor is None and index == node.start_mark.index and isinstance(event, yaml.NodeEvent) and event.anchor:
            anchor = event.anchor
        elif anchor and isinstance(event, yaml.AliasEvent) and event.anchor == anchor and index > node.start_mark.index:
            return mark.line + 1
    return None


def _children(node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
    """Each child with the node that shows where it is used: a hash value's key, a list item's list."""
    if isinstance(node, yaml.SequenceNode):
        return [(item, node) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        return [pair for key, value in node.value for pair in ((key, key), (value, key))]
    return []
