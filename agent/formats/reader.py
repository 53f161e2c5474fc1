"""The one YAML reader: safe loading, file:line for every error, duplicate keys, and limits hostile input meets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent.errors import DataError, TendError
from agent.formats.compose import Composer, node_index
from agent.formats.document import Block, Document, Duplicates
from agent.formats.text import read_text
from agent.location import Location

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Called for each string scalar with its text, line (1-based) and column (0-based); returns the value to use.
StringHook = Callable[[str, int, int], Any]


class _Loader(_Base):  # type: ignore[misc]  # _Base is libyaml's loader when there is one: chosen at run time
    """The safe loader: its parser gives the events, its resolver and constructors the plain values."""

    strings: StringHook | None = None


class _HookLoader(_Loader):
    """The same with the hook, for PyYAML's constructor (a document with merge keys)."""

    strings: StringHook


def _construct_str(loader: _HookLoader, node: yaml.ScalarNode) -> Any:
    return loader.strings(loader.construct_scalar(node), node.start_mark.line + 1, node.start_mark.column)


_HookLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def read_yaml(
    text: str,
    source: str,
    *,
    error: type[TendError],
    duplicates: Duplicates = Duplicates.REFUSE,
    strings: StringHook | None = None,
) -> Document:
    """Parse one YAML document; every refusal is an `error` naming `source` and the line.

    `strings`, when given, turns each string scalar (a hash's keys too) into another value (encrypted ones)."""
    loader = _Loader(text)
    try:
        composer = Composer(loader, source, error, duplicates, strings)
        value, index, found = composer.build()
        if composer.merged:
            value, index = _built_by_pyyaml(text, strings)
    except yaml.MarkedYAMLError as problem:
        raise yaml_error(problem, source, error) from None
    except yaml.YAMLError as problem:
        raise _unmarked_error(problem, text, source, error) from None
    finally:
        loader.dispose()
    return Document(source, value, index, error, found)


def _built_by_pyyaml(text: str, strings: StringHook | None) -> tuple[Any, Block | None]:
    """A checked document's values as PyYAML's constructor builds them, and the line index of its node tree
    as that leaves it (merge keys flattened into their hashes)."""
    loader = _HookLoader(text) if strings is not None else _Loader(text)
    loader.strings = strings
    try:
        root = loader.get_single_node()
        return loader.construct_document(root), node_index(root)
    finally:
        loader.dispose()


def read_yaml_nodes(text: str, source: str, *, error: type[TendError], **options: Any) -> tuple[Document, Any]:
    """`read_yaml`, and the document's PyYAML node tree for the few that edit or audit the text itself (None
    for an empty document). The tree is composed only once the document passed every check."""
    document = read_yaml(text, source, error=error, **options)
    loader = _Loader(text)
    try:
        return document, loader.get_single_node()
    finally:
        loader.dispose()


def read_yaml_file(path: Path, source: str, *, error: type[TendError], **options: Any) -> Document | None:
    """Read and parse a UTF-8 YAML file as `read_yaml` does (same options); None when it does not exist."""
    text = read_text(path, source, error=error)
    return None if text is None else read_yaml(text, source, error=error, **options)


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
