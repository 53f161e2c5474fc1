"""A file's UTF-8 text, read before (and without) the YAML reader: a missing file imports no parser."""

from __future__ import annotations

from pathlib import Path

from agent.errors import TendError
from agent.location import Location


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
