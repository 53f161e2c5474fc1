"""Facts that remember which of them a compile read, and what each was, so a cached compile can be reused."""

from __future__ import annotations

import marshal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# marshal's version 2 writes no back-references, so equal values always give the same bytes.
SNAPSHOT_VERSION = 2


def snapshot(value: Any) -> bytes | None:
    """`value` as bytes that tell apart what == does not (1, 1.0 and True); None when it is not plain data."""
    try:
        return marshal.dumps(value, SNAPSHOT_VERSION)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class FactsRead:
    """What a compile read of its facts: each name with its value's snapshot (None: the fact was absent);
    `whole`: it used the facts as a whole (iterated them), so every fact counts and no other may appear.
    `plain`: every value read could be snapshotted (else the compile cannot be reused)."""

    values: tuple[tuple[str, bytes | None], ...]
    whole: bool
    plain: bool = True

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """The facts of now give the same value (or absence) for everything that was read."""
        for name, recorded in self.values:
            if name not in facts:
                if recorded is not None:
                    return False
            elif recorded is None or snapshot(facts[name]) != recorded:
                return False
        return not self.whole or set(facts) == {name for name, recorded in self.values if recorded is not None}

    def to_plain(self) -> tuple[Any, ...]:
        return (self.values, self.whole)

    @classmethod
    def from_plain(cls, data: Any) -> FactsRead:
        values, whole = data
        checked = tuple((str(name), recorded) for name, recorded in values)
        if not all(recorded is None or isinstance(recorded, bytes) for _, recorded in checked):
            raise ValueError("a fact's snapshot must be bytes or None")
        return cls(checked, bool(whole))


class ReadFacts(Mapping[str, Any]):
    """A read-only view of a host's facts that notes each fact read (its value as first seen) and any use
    of the whole (iteration, length, equality): `read()` says what the compile depended on. Values are
    handed out as they are; a fact is read at the first name lookup of it, not before."""

    __slots__ = ("__facts", "__plain", "__read", "__whole")

    def __init__(self, facts: Mapping[str, Any]):
        self.__facts = facts
        self.__read: dict[str, bytes | None] = {}
        self.__whole = False
        self.__plain = True

    def __note(self, name: str) -> None:
        if name in self.__read:
            return
        if name in self.__facts:
            recorded = snapshot(self.__facts[name])
            if recorded is None:
                self.__plain = False
                recorded = b""
            self.__read[name] = recorded
        else:
            self.__read[name] = None

    def __getitem__(self, name: str) -> Any:
        if isinstance(name, str):
            self.__note(name)
        return self.__facts[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.__note(name)
        return name in self.__facts

    def __iter__(self) -> Iterator[str]:
        self.__all()
        return iter(self.__facts)

    def __len__(self) -> int:
        self.__all()
        return len(self.__facts)

    def __all(self) -> None:
        if not self.__whole:
            self.__whole = True
            for name in self.__facts:
                self.__note(name)

    def __repr__(self) -> str:
        return repr(dict(self))

    def read(self) -> FactsRead:
        """Everything read so far."""
        return FactsRead(tuple(sorted(self.__read.items())), self.__whole, self.__plain)
