"""Rewrites one value of a YAML data file in place, keeping every other byte: comments, order, layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from agent.errors import DataError
from agent.formats import Duplicates, read_yaml_nodes
from agent.location import Location


def _root(text: str, source: str) -> yaml.MappingNode | None:
    """The file's top node, read by the one YAML reader (its limits and duplicate rule, as lookups read it)."""
    _, node = read_yaml_nodes(text, source, error=DataError, duplicates=Duplicates.LAST)
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return None
    if not isinstance(node, yaml.MappingNode):
        raise DataError("the top level must be a hash of keys to values", location=Location(source, 1))
    return node


def block_value(lines: Sequence[str]) -> str:
    """A top-level value as a folded block (`>`): one line per piece, indented two spaces."""
    return ">\n" + "".join(f"  {line}\n" for line in lines)


def set_top_level(text: str, source: str, key: str, lines: Sequence[str]) -> str:
    """`text` with `key`'s value replaced by a folded block of `lines` (appended when the key is new)."""
    root = _root(text, source)
    quoted = _key_text(key)
    if root is not None:
        for key_node, value_node in root.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return _splice(text, value_node, block_value(lines))
    prefix = text if not text or text.endswith("\n") else text + "\n"
    if prefix.strip() in ("---", "{}"):
        prefix = ""
    return f"{prefix}{quoted}: {block_value(lines)}"


def replace_scalars(text: str, source: str, replacements: dict[tuple[int, int], str]) -> str:
    """Replace the scalars that start at (line, column) (1-based line, 0-based column) with new text.

    A top-level scalar becomes a folded block; one nested in a hash or list a double-quoted string.
    """
    root = _root(text, source)
    spans: list[tuple[yaml.Node, str, bool]] = []

    def walk(node: Any, top: bool) -> None:
        if isinstance(node, yaml.ScalarNode):
            start = (node.start_mark.line + 1, node.start_mark.column)
            if start in replacements:
                spans.append((node, replacements[start], top))
        elif isinstance(node, yaml.MappingNode):
            for _, value in node.value:
                walk(value, False)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, False)

    if root is not None:
        for _, value in root.value:
            walk(value, True)
    for node, new, top in sorted(spans, key=lambda s: s[0].start_mark.index, reverse=True):
        block = top and not source.endswith(".json")  # JSON has no folded blocks
        text = _splice(text, node, block_value(_pieces(new)) if block else f'"{new}"')
    return text


def _pieces(value: str, width: int = 60) -> list[str]:
    return [value[i : i + width] for i in range(0, len(value), width)]


def _splice(text: str, node: yaml.Node, new: str) -> str:
    """Put `new` where `node` is written. A block (`>`) takes the rest of its line, whose comment
    moves after the `>`; a one-line value keeps what followed the old one."""
    start, end = node.start_mark.index, node.end_mark.index
    if new.startswith(">"):
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        tail = text[end:line_end].strip()
        if not text[start:end].endswith("\n") and (not tail or tail.startswith("#")):
            header, body = new.split("\n", 1)
            new = f"{header} {tail}\n{body}" if tail else new
            return text[:start] + new + text[min(line_end + 1, len(text)) :]
        return text[:start] + new + text[end:]
    if text[start:end].endswith("\n"):
        new += "\n"
    return text[:start] + new + text[end:]


def _key_text(key: str) -> str:
    dumped = yaml.safe_dump({key: None}, default_flow_style=False, width=10**6)
    return dumped[: -len(": null\n")]
