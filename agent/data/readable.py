"""Every file some host's lookups could read: each level's paths with their variables left open, any extension."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from agent.data.config import HieraConfig, Level
from agent.data.locations import expand_braces

_VARIABLE = re.compile(r"%\{[^}]*\}")
_OPEN = "\0"  # a variable, once taken out of the way of brace expansion
_GLOB_KINDS = ("glob", "globs")


def readable_files(root: Path, configs: Iterable[HieraConfig]) -> list[str]:
    """Repository-relative paths of the files any level of `configs` can resolve to, for any facts.

    A `%{...}` matches any text (a fact may hold a `/`), so this may list more than one host reads,
    never less: what an auditor must see.
    """
    found: set[str] = set()
    for config in configs:
        for level in config.levels:
            regexes = [_regex(level, pattern) for pattern in _patterns(level)]
            for path in _files_under(root, _fixed_prefix(level.datadir)):
                if any(regex.fullmatch(path) for regex in regexes):
                    found.add(path)
    return sorted(found)


def _patterns(level: Level) -> Iterator[str]:
    if level.mapped is not None:
        yield _VARIABLE.sub(_OPEN, level.mapped[2])
        return
    for pattern in level.patterns:
        opened = _VARIABLE.sub(_OPEN, pattern)
        yield from expand_braces(opened) if level.kind in _GLOB_KINDS else (opened,)


def _regex(level: Level, pattern: str) -> re.Pattern[str]:
    full = f"{level.datadir}/{pattern}"
    literal = _glob_piece if level.kind in _GLOB_KINDS else re.escape
    pieces = _VARIABLE.sub(_OPEN, os.path.normpath(full)).split(_OPEN)
    return re.compile(".*".join(literal(piece) for piece in pieces), re.DOTALL)


def _glob_piece(text: str) -> str:
    out = re.escape(text)
    out = out.replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.sub(r"\\\[(!?)(.*?)\\\]", lambda m: f"[{'^' if m.group(1) else ''}{m.group(2)}]", out)


def _fixed_prefix(datadir: str) -> str:
    """The part of a datadir before its first variable, cut back to a whole folder."""
    head = _VARIABLE.split(datadir, maxsplit=1)[0]
    return head if head == datadir else os.path.dirname(head)


def _files_under(root: Path, folder: str) -> Iterator[str]:
    base = root / folder
    for directory, _, names in os.walk(base):
        for name in names:
            yield os.path.relpath(os.path.join(directory, name), root)
