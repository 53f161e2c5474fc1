"""Reads one YAML data file: values, the line of each top-level key, and ENC[...] values made opaque."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.data.encrypted import EncryptedValue, looks_encrypted
from agent.errors import DataError
from agent.formats import Document, DuplicateKey, Duplicates, read_text, read_yaml
from agent.location import Location


@dataclass(slots=True)
class DataFile:
    """A parsed data file: its top-level hash, the line each key starts on, and the keys it wrote twice."""

    path: str
    data: dict[Any, Any]
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: tuple[DuplicateKey, ...] = ()

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key)

    @property
    def warnings(self) -> list[str]:
        """Each key written twice, naming both lines; the last value is the one used, as in Hiera."""
        return [f"{duplicate}; the last value is used" for duplicate in self.duplicates]


def parse_yaml_data(text: str, source: str, *, strict: bool = False) -> DataFile:
    """Parse `text` as a data file; `source` names it in errors and provenance.

    A key written twice keeps its last value (a warning); with `strict` it is an error.
    """
    encrypted: list[bool] = []

    def opaque(value: str, line: int, column: int) -> Any:
        if not looks_encrypted(value):
            return value
        encrypted.append(True)
        return EncryptedValue(value, Location(source, line), "", column)

    hook = opaque if "ENC[" in text else None  # no hook on every string of a file without secrets
    duplicates = Duplicates.REFUSE if strict else Duplicates.LAST
    return _data_file(read_yaml(text, source, error=DataError, duplicates=duplicates, strings=hook), bool(encrypted))


def read_data_file(path: Path, source: str, *, strict: bool = False) -> DataFile:
    """Read and parse a data file (YAML, or JSON which is YAML); a missing one holds no keys."""
    text = read_text(path, source, error=DataError)
    return parse_yaml_data(text or "", source, strict=strict)


def _data_file(document: Document, encrypted: bool) -> DataFile:
    data = document.value
    if data is None:
        return DataFile(document.source, {}, duplicates=document.duplicates)
    if not isinstance(data, dict):
        raise document.fail("the top level must be a hash of keys to values")
    lines = document.key_lines()
    if encrypted:
        data = {key: _stamp_key(value, str(key)) for key, value in data.items()}
    return DataFile(document.source, data, lines, document.duplicates)


def _stamp_key(value: Any, key: str) -> Any:
    """Record in every encrypted value the top-level key that holds it."""
    if isinstance(value, EncryptedValue):
        return EncryptedValue(value.text, value.location, key, value.column)
    if isinstance(value, list):
        return [_stamp_key(v, key) for v in value]
    if isinstance(value, dict):
        return {k: _stamp_key(v, key) for k, v in value.items()}
    return value
