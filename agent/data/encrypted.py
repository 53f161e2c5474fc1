"""An encrypted value as found in the data, and how to tell one: opaque until the secrets layer decrypts it."""

from __future__ import annotations

from dataclasses import dataclass

from agent.location import Location

ENC_PREFIX = "ENC["


def looks_encrypted(text: str) -> bool:
    """True for a string that holds an `ENC[...]` value (cheap: called on every YAML string scalar)."""
    return text.lstrip().startswith(ENC_PREFIX)


@dataclass(frozen=True, slots=True)
class EncryptedValue:
    """The `ENC[GPG,...]` text of one value, where it was written, and the key that holds it.

    It never turns into a plain string: str() and repr() name it, they do not show it.
    """

    text: str
    location: Location
    key: str = ""
    column: int = 0  # where the scalar starts on its line, so a rewrite can find it

    @property
    def file(self) -> str:
        return self.location.file

    def label(self) -> str:
        return f"<secret: {self.location.file}:{self.key}>"

    def __str__(self) -> str:
        return self.label()

    __repr__ = __str__
