"""A YAML document as read: its value, the nodes that know every line, and the duplicate keys it held."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from agent.errors import ConfigError, TendError
from agent.location import Location


class Duplicates(StrEnum):
    """What a key written twice in one hash does."""

    REFUSE = "refuse"  # configuration files: an error naming both lines
    LAST = "last"  # data files, as Puppet reads them: the last value, with a warning naming both lines


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    """A key written again at `location`, first written on `first_line` of the same hash."""

    key: str
    location: Location
    first_line: int

    @property
    def message(self) -> str:
        return f"duplicate key '{self.key}' (first defined on line {self.first_line})"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class Document:
    """One file's value; `line(*path)` finds where a hash key or list item of it was written.

    A path is the keys and indexes from the top: `("hierarchy", 2, "path")`. `error` is the
    error class of the file's kind (ConfigError for agent.yaml, ManifestError for a manifest, ...).
    """

    source: str
    value: Any
    root: yaml.Node | None = None
    error: type[TendError] = ConfigError
    duplicates: tuple[DuplicateKey, ...] = ()

    def line(self, *path: Any) -> int | None:
        """The line of the key (or list item) at `path`; None when the path is not in the file."""
        lines = self._lines(path)
        return lines[-1] if len(lines) == len(path) + 1 else None

    def key_lines(self, *path: Any) -> dict[str, int]:
        """The line of every key of the hash at `path`, by the key as written (a repeated key: its last line)."""
        node = self._node(path)
        if not isinstance(node, yaml.MappingNode):
            return {}
        return {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}

    def at(self, *path: Any) -> Location:
        """Where `path` was written, or the nearest hash or list around it that was."""
        lines = self._lines(path)
        return Location(self.source, lines[-1] if lines else 1)

    def fail(self, message: str, *path: Any) -> TendError:
        """The error of this file's kind, at `path`."""
        return self.error(message, location=self.at(*path))

    def _lines(self, path: tuple[Any, ...]) -> list[int]:
        return [line for line, _ in self._walk(path)]

    def _node(self, path: tuple[Any, ...]) -> yaml.Node | None:
        steps = self._walk(path)
        return steps[-1][1] if len(steps) == len(path) + 1 else None

    def _walk(self, path: tuple[Any, ...]) -> list[tuple[int, yaml.Node]]:
        """From the top along `path`: the line of each step and the node it leads to, as far as the file goes."""
        node = self.root
        if node is None:
            return []
        steps = [(node.start_mark.line + 1, node)]
        for step in path:
            if isinstance(node, yaml.MappingNode):
                pair = _entry(node, step)
                if pair is None:
                    break
                node = pair[1]
                steps.append((pair[0].start_mark.line + 1, node))
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
                node = node.value[step]
                steps.append((node.start_mark.line + 1, node))
            else:
                break
        return steps


def _entry(node: yaml.MappingNode, key: Any) -> tuple[yaml.Node, yaml.Node] | None:
    """The last entry of `key` (the one whose value is used when a data file repeats it)."""
    wanted = key if isinstance(key, str) else str(key)
    for key_node, value_node in reversed(node.value):
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == wanted:
            return key_node, value_node
    return None
