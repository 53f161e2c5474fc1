"""A value `lookup_options` mark `convert_to: Sensitive`: plain in the data, a secret everywhere after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, eq=False)
class SensitiveValue:
    """The plain value of a key marked Sensitive, where it was found; it never prints itself."""

    value: Any
    file: str
    key: str

    def label(self) -> str:
        return f"<sensitive: {self.file}:{self.key}>"

    def __str__(self) -> str:
        return self.label()

    __repr__ = __str__
