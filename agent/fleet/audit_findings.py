"""What the secrets audit finds beyond (value, principal) pairs: values it cannot audit, secrets kept in plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.data.encrypted import ENC_PREFIX, EncryptedValue, looks_encrypted
from agent.data.hiera import Hiera, LookupContext
from agent.data.options import LOOKUP_OPTIONS
from agent.errors import DataError
from agent.formats import Duplicates, read_text, read_yaml_nodes

# eyaml's reader takes a value that names no scheme (`ENC[MIIB...]`) for PKCS7, its default.
_PKCS7 = "PKCS7"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem beyond one (value, principal) pair; value findings also name the file, line and key."""

    kind: str  # unused, stray_key, missing_key, expiring_key, pkcs7, sensitive_plaintext, shadowed_duplicate
    subject: str
    detail: str
    fix: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def value_finding(kind: str, file: str, line: int | None, key: str, detail: str, fix: str) -> Finding:
    subject = f"{file}:{line}: {key}" if line else f"{file}: {key}"
    return Finding(kind, subject, detail, fix, file, line, key)


def is_pkcs7(text: str) -> bool:
    """True for eyaml's PKCS7 values, `ENC[PKCS7,...]` or `ENC[...]` without a scheme."""
    scheme, comma, _ = "".join(text.split())[len(ENC_PREFIX) :].partition(",")
    return (scheme if comma else _PKCS7) == _PKCS7


def pkcs7_finding(value: EncryptedValue) -> Finding:
    return value_finding(
        "pkcs7",
        value.file,
        value.location.line,
        value.key,
        "PKCS7 value: no recipients readable by tend",
        f"re-encrypt with tend secrets set {value.file} {value.key}",
    )


def sensitive_plaintext(contexts: dict[str, LookupContext]) -> list[Finding]:
    """Values whose lookup_options say `convert_to: Sensitive`, for a host that reads them, but are not encrypted.

    The whole value is declared secret, so every scalar in it must be encrypted (nulls aside).
    """
    found: dict[tuple[str, str], Finding] = {}
    for _, context in sorted(contexts.items()):
        for _, datafile in context.locations:
            if datafile is None:
                continue
            for key, value in datafile.data.items():
                name = str(key)
                if name == LOOKUP_OPTIONS or (datafile.path, name) in found:
                    continue
                if _marked_sensitive(context.options_for(name)) and not _all_encrypted(value):
                    found[(datafile.path, name)] = value_finding(
                        "sensitive_plaintext",
                        datafile.path,
                        datafile.line_of(name),
                        name,
                        "plaintext marked sensitive (lookup_options convert_to: Sensitive): encrypt it",
                        f"tend secrets set {datafile.path} {name}, then rotate it: its plaintext is in the history",
                    )
    return [found[place] for place in sorted(found)]


def _marked_sensitive(options: dict[str, Any]) -> bool:
    convert = options.get("convert_to")
    return convert == "Sensitive" or (isinstance(convert, list) and convert[:1] == ["Sensitive"])


def _all_encrypted(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_all_encrypted(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_encrypted(v) for v in value)
    return value is None or isinstance(value, EncryptedValue)


def shadowed_duplicates(root: Path, hiera: Hiera, files: list[str]) -> list[Finding]:
    """A key written twice in one hash of a data file, one of the values encrypted: each shadowed one.

    The last value is the one used (as in Puppet); an earlier one is either a stale secret nobody rotates
    or a plaintext copy of one, and the recipients check never sees it.
    """
    out: list[Finding] = []
    for path in files:
        datafile = hiera.store.get(path)
        if datafile is None or not datafile.duplicates:
            continue
        _, top = read_yaml_nodes(read_text(root / path, path, error=DataError) or "", path, error=DataError,
                                 duplicates=Duplicates.LAST)  # fmt: skip
        for key, nodes in _repeated_keys(top, ()):
            if not any(_holds_encrypted(value) for _, value in nodes):
                continue
            lines = [key_node.start_mark.line + 1 for key_node, _ in nodes]
            used = lines[-1]
            for line in lines[:-1]:
                detail = (f"written {len(lines)} times (lines {', '.join(map(str, lines))}), one of them encrypted: "
                          f"line {used} is used, line {line} is shadowed")  # fmt: skip
                fix = "keep one value and delete the others (rotate the secret if a plaintext copy was committed)"
                out.append(value_finding("shadowed_duplicate", path, line, key, detail, fix))
    return sorted(out, key=lambda finding: (finding.file or "", finding.line or 0))


def _repeated_keys(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, list[tuple[Any, Any]]]]:
    """Each key written more than once in a hash, as a dotted path, with its (key node, value node) pairs."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _repeated_keys(item, path)
    if not isinstance(node, yaml.MappingNode):
        return
    by_key: dict[str, list[tuple[Any, Any]]] = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            by_key.setdefault(key_node.value, []).append((key_node, value_node))
        yield from _repeated_keys(value_node, (*path, str(key_node.value)))
    for key, nodes in by_key.items():
        if len(nodes) > 1:
            yield ".".join((*path, key)), nodes


def _holds_encrypted(node: Any) -> bool:
    if isinstance(node, yaml.ScalarNode):
        return isinstance(node.value, str) and looks_encrypted(node.value)
    if isinstance(node, yaml.SequenceNode):
        return any(_holds_encrypted(item) for item in node.value)
    if isinstance(node, yaml.MappingNode):
        return any(_holds_encrypted(value) for _, value in node.value)
    return False
