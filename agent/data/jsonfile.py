"""Reads one `json_data` file as JSON (so `1e1` is 10.0, as in Puppet), with the line of each top-level key."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from agent.data.encrypted import EncryptedValue, looks_encrypted
from agent.data.yamlfile import DataFile
from agent.errors import DataError
from agent.formats import DuplicateKey, read_text
from agent.location import Location

# A JSON string literal; group 1 is its body, escapes left as written.
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_COLON = re.compile(r"\s*:")


def parse_json_data(text: str, source: str, *, strict: bool = False) -> DataFile:
    """Parse `text` as JSON data; a top-level key written twice keeps its last value, as Ruby's JSON does
    (a warning; with `strict` an error)."""
    if not text.strip():
        return DataFile(source, {})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"Unable to parse JSON: {error.msg}", location=Location(source, error.lineno)) from None
    except RecursionError:
        raise DataError("Unable to parse JSON: nested too deeply", location=Location(source, 1)) from None
    if not isinstance(data, dict):
        raise DataError("the top level must be a hash of keys to values", location=Location(source, 1))
    lines, positions, duplicates = _scan(text, source)
    if duplicates and strict:
        raise DataError(duplicates[0].message, location=duplicates[0].location)
    if positions:
        data = {key: _opaque(value, str(key), source, positions) for key, value in data.items()}
    return DataFile(source, data, lines, tuple(duplicates))


def read_json_data(path: Path, source: str, *, strict: bool = False) -> DataFile:
    return parse_json_data(read_text(path, source, error=DataError) or "", source, strict=strict)


def _scan(text: str, source: str) -> tuple[dict[str, int], dict[str, list[tuple[int, int]]], list[DuplicateKey]]:
    """The line of each top-level key, where each `ENC[...]` string starts (line, column) in order, and
    the top-level keys written twice."""
    lines: dict[str, int] = {}
    duplicates: list[DuplicateKey] = []
    positions: dict[str, list[tuple[int, int]]] = defaultdict(list)
    depth, index = 0, 0
    while index < len(text):
        char = text[index]
        if char == '"':
            match = _STRING.match(text, index)
            if match is None:
                break
            body = json.loads(match.group(0))
            line = text.count("\n", 0, index) + 1
            column = index - (text.rfind("\n", 0, index) + 1)
            if depth == 1 and _COLON.match(text, match.end()):
                if body in lines:
                    duplicates.append(DuplicateKey(body, Location(source, line), lines[body]))
                lines[body] = line
            elif looks_encrypted(body):
                positions[body].append((line, column))
            index = match.end()
            continue
        depth += 1 if char in "{[" else -1 if char in "}]" else 0
        index += 1
    return lines, positions, duplicates


def _opaque(value: Any, key: str, source: str, positions: dict[str, list[tuple[int, int]]]) -> Any:
    if isinstance(value, str) and looks_encrypted(value) and positions.get(value):
        line, column = positions[value].pop(0)
        return EncryptedValue(value, Location(source, line), key, column)
    if isinstance(value, list):
        return [_opaque(v, key, source, positions) for v in value]
    if isinstance(value, dict):
        return {k: _opaque(v, key, source, positions) for k, v in value.items()}
    return value
