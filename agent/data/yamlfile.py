"""Reads one YAML data file: values, the line of each top-level key, and ENC[...] values made opaque."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.data.encrypted import EncryptedValue, looks_encrypted
from agent.errors import DataError
from agent.location import Location

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _PlainLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader that refuses duplicate keys (for text without `ENC[`: no hook on every string)."""

    source = "<data>"
    has_encrypted = False

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        _refuse_duplicate_keys(node, self.source)
        return super().construct_mapping(node, deep=deep)


class _DataLoader(_PlainLoader):
    """The same, also keeping encrypted strings opaque."""


def _refuse_duplicate_keys(node: yaml.MappingNode, source: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        ident = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if ident in seen:
            raise DataError(
                f"duplicate key '{key_node.value}' (first defined on line {seen[ident]})",
                location=Location(source, line),
            )
        seen[ident] = line


def _construct_str(loader: _DataLoader, node: yaml.ScalarNode) -> Any:
    value = loader.construct_scalar(node)
    if looks_encrypted(value):
        loader.has_encrypted = True
        return EncryptedValue(value, Location(loader.source, node.start_mark.line + 1), "", node.start_mark.column)
    return value


_DataLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def _loader(text: str) -> Any:
    return _DataLoader(text) if "ENC[" in text else _PlainLoader(text)


@dataclass(slots=True)
class DataFile:
    """A parsed data file: its top-level hash and the line each key starts on."""

    path: str
    data: dict[Any, Any]
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key)


@contextmanager
def _document(text: str, source: str) -> Iterator[tuple[Any, yaml.Node | None]]:
    """The loader and the composed node of one YAML document; YAML errors become DataErrors with a line."""
    loader = _loader(text)
    loader.source = source
    try:
        node = loader.get_single_node()
        if node is not None and "*" in text:  # only aliases can make a structure that contains itself
            _refuse_cycles(node, source)
        yield loader, node
    except yaml.MarkedYAMLError as error:
        raise yaml_error(error, source) from None
    except yaml.YAMLError as error:
        raise _other_yaml_error(error, text, source) from None
    finally:
        loader.dispose()


def parse_yaml_data(text: str, source: str) -> DataFile:
    """Parse `text` as a data file; `source` names it in errors and provenance."""
    with _document(text, source) as (loader, node):
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
            return DataFile(source, {})
        if not isinstance(node, yaml.MappingNode):
            raise DataError(
                "the top level must be a hash of keys to values",
                location=Location(source, node.start_mark.line + 1),
            )
        lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        data = loader.construct_document(node)
    if loader.has_encrypted:
        data = {key: _stamp_key(value, str(key)) for key, value in data.items()}
    return DataFile(source, data, lines)


def _other_yaml_error(error: yaml.YAMLError, text: str, source: str) -> DataError:
    """A reader error (a control character, say) has a character position, not a line: count it."""
    position = getattr(error, "position", None)
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    reason = getattr(error, "reason", None) or str(error)
    character = getattr(error, "character", None)
    detail = f"{reason} (character {character!r})" if character is not None else reason
    return DataError(f"Unable to parse YAML: {detail}", location=Location(source, line))


def _refuse_cycles(node: yaml.Node, source: str) -> None:
    """An alias inside its own anchor makes a structure that contains itself: refuse it, with its line."""
    stack: set[int] = set()
    done: set[int] = set()

    def walk(current: yaml.Node) -> None:
        key = id(current)
        if key in stack:
            raise DataError(
                "an alias refers to its own anchor (a structure that contains itself)",
                location=Location(source, current.start_mark.line + 1),
            )
        if key in done or isinstance(current, yaml.ScalarNode):
            return
        stack.add(key)
        children = (
            current.value if isinstance(current, yaml.SequenceNode) else [n for pair in current.value for n in pair]
        )
        for child in children:
            walk(child)
        stack.discard(key)
        done.add(key)

    walk(node)


def yaml_error(error: yaml.MarkedYAMLError, source: str) -> DataError:
    """A DataError naming the file and line of a YAML syntax error."""
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else None
    problem = error.problem or error.context or "not YAML"
    if error.context and error.problem:
        problem = f"{error.context}, {error.problem}"
    return DataError(f"Unable to parse YAML: {problem}", location=Location(source, line))


def _stamp_key(value: Any, key: str) -> Any:
    """Record in every encrypted value the top-level key that holds it."""
    if isinstance(value, EncryptedValue):
        return EncryptedValue(value.text, value.location, key, value.column)
    if isinstance(value, list):
        return [_stamp_key(v, key) for v in value]
    if isinstance(value, dict):
        return {k: _stamp_key(v, key) for k, v in value.items()}
    return value


def read_data_file(path: Path, source: str) -> DataFile:
    """Read and parse a data file (YAML, or JSON which is YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"not UTF-8 text: {error.reason}", location=Location(source)) from None
    except OSError as error:
        raise DataError(f"cannot read: {error.strerror}", location=Location(source)) from None
    return parse_yaml_data(text, source)


def parse_yaml_with_lines(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse a YAML document and index the line of every hash key and list item by its path.

    `lines[("resources", 2, "mode")]` is the line where the third resource's `mode` is written.
    """
    with _document(text, source) as (loader, node):
        if node is None:
            return None, {}
        lines: dict[tuple[Any, ...], int] = {}
        _index_lines(node, (), lines)
        return loader.construct_document(node), lines


def _index_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                child = (*path, key_node.value)
                _index_lines(value_node, child, lines)
                lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines)
