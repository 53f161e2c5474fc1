"""Registries whose entries are imported on first use, so that a run loads only the types it has (DESIGN §8.18)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

P = TypeVar("P")
V = TypeVar("V")


def load(path: str) -> Any:
    """The object that `module:attribute` names, its module imported if it was not.

    Through `__import__`, as an import statement does, so that Python's import log (`-X importtime`) shows it;
    importlib.import_module would not.
    """
    module, _, attribute = path.partition(":")
    return getattr(__import__(module, fromlist=[attribute]), attribute)


class LazyMapping(Mapping[str, V], Generic[P, V]):
    """A mapping whose keys are known at once and whose values `make` builds from their `paths` when first read.

    Membership, iteration and length import nothing; reading a value imports what it needs, once.
    """

    def __init__(self, paths: Mapping[str, P], make: Callable[[P], V]):
        self._paths = dict(paths)
        self._make = make
        self._made: dict[str, V] = {}

    def __getitem__(self, key: str) -> V:
        try:
            return self._made[key]
        except KeyError:
            made = self._made[key] = self._make(self._paths[key])
            return made

    def __contains__(self, key: object) -> bool:
        return key in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def path(self, key: str) -> P:
        """What `key`'s value is made from, nothing imported."""
        return self._paths[key]
