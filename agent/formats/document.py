"""A YAML document as read: its value, the line index that knows where each key and item was written, and the
duplicate keys it held."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


class Block:
    """Where a hash's keys (by their text as written) or a list's items were written, 1-based, and the
    blocks of those that are hashes or lists themselves: the line index a `Document` keeps of its file."""

    __slots__ = ("inner", "line", "lines")

    def __init__(self, line: int, lines: dict[str, int] | list[int] | None):
        self.line = line  # where the hash, list or value starts
        self.lines = lines  # None for a plain value
        self.inner: dict[Any, Block] | None = None  # by key text or item index


@dataclass(frozen=True, slots=True)
class Document:
    """One file's value; `line(*path)` finds where a hash key or list item of it was written.

    A path is the keys and indexes from the top: `("hierarchy", 2, "path")`. `error` is the
    error class of the file's kind (ConfigError for agent.yaml, ManifestError for a manifest, ...).
    """

    source: str
    value: Any
    index: Block | None = None
    error: type[TendError] = ConfigError
    duplicates: tuple[DuplicateKey, ...] = ()

    def line(self, *path: Any) -> int | None:
        """The line of the key (or list item) at `path`; None when the path is not in the file."""
        lines, _ = self._walk(path)
        return lines[-1] if len(lines) == len(path) + 1 else None

    def key_lines(self, *path: Any) -> dict[str, int]:
        """The line of every key of the hash at `path`, by the key as written (a repeated key: its last line)."""
        lines, block = self._walk(path)
        if len(lines) != len(path) + 1 or block is None or not isinstance(block.lines, dict):
            return {}
        return dict(block.lines)

    def at(self, *path: Any) -> Location:
        """Where `path` was written, or the nearest hash or list around it that was."""
        lines, _ = self._walk(path)
        return Location(self.source, lines[-1] if lines else 1)

    def fail(self, message: str, *path: Any) -> TendError:
        """The error of this file's kind, at `path`."""
        return self.error(message, location=self.at(*path))

    def _walk(self, path: tuple[Any, ...]) -> tuple[list[int], Block | None]:
        """From the top along `path`: the line of each step, as far as the file goes, and the block reached."""
        block = self.index
        if block is None:
            return [], None
        lines = [block.line]
        for step in path:
            if block is None:
                break
            found = block.lines
            key: Any
            if isinstance(found, dict):
                key = step if isinstance(step, str) else str(step)
                line = found.get(key)
            elif isinstance(found, list) and isinstance(step, int) and 0 <= step < len(found):
                key, line = step, found[step]
            else:
                break
            if line is None:
                break
            lines.append(line)
            block = block.inner.get(key) if block.inner else None
        return lines, block
