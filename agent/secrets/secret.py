"""A decrypted value: redacted wherever it is printed, its plaintext only through an explicit reveal()."""

from __future__ import annotations

REDACTED = "<redacted>"
# Plaintexts shorter than this are not hunted in rendered output: too many false alarms, too little to leak.
HUNTED_BYTES = 8


class Secret:
    """Plaintext that never shows itself: str(), repr() and format() are redacted; reveal() gives the value."""

    __slots__ = ("_value", "file", "key")

    def __init__(self, value: str, *, key: str, file: str):
        self._value = value
        self.key = key
        self.file = file

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"<secret: {self.file}:{self.key}>"

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret cannot be pickled")


def placeholder(file: str, key: str) -> Secret:
    """What a run that may not decrypt (check, derivation, an admin's preview) uses in a secret's place."""
    return Secret(f"<secret {file}:{key}>", key=key, file=file)


def holds_secret(value: object) -> bool:
    """A Secret anywhere inside a value (lists and hashes included)."""
    if isinstance(value, Secret):
        return True
    if isinstance(value, list):
        return any(holds_secret(v) for v in value)
    if isinstance(value, dict):
        return any(holds_secret(v) for v in value.values())
    return False


def as_secret(value: object, *, key: str, file: str) -> object:
    """A value marked Sensitive (`convert_to` in lookup_options): each text, number and boolean in it a Secret.

    Secrets are text, so a number or boolean becomes its YAML text; None stays None.
    """
    if isinstance(value, Secret) or value is None:
        return value
    if isinstance(value, list):
        return [as_secret(v, key=key, file=file) for v in value]
    if isinstance(value, dict):
        return {k: as_secret(v, key=key, file=file) for k, v in value.items()}
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return Secret(text, key=key, file=file)
