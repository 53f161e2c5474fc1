"""A host's compile in three steps: secrets opaque to learn which values the catalog uses, those decrypted at
once by several gpg processes, then the real compile with the values ready (agent/catalog/cached.py runs
them, and keeps what the first step learned in the compile cache).

The real compile still meets each value in order: it records the reads (so the report and the audit log list
them as a lazy compile does) and raises any error where a lazy compile would. With fewer than 2 jobs, or when
the opaque compile fails, the real compile is all there is: the lazy path, one gpg at a time. A catalog that
uses no secret is compiled once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from agent.catalog.compile import Compiler, Decryptor
from agent.catalog.graph import Catalog
from agent.data.encrypted import EncryptedValue
from agent.data.hiera import LookupContext
from agent.secrets.secret import Secret, placeholder


class Prefetching(Decryptor, Protocol):
    """A reader that can decrypt ahead what a compile will ask for (agent/secrets/reader.py `HostSecrets`)."""

    def prefetch(self, values: Sequence[EncryptedValue], jobs: int) -> None: ...

    def settle(self) -> None: ...


class Opaque:
    """The first step's reader: notes each encrypted value the compile meets and gives a placeholder."""

    def __init__(self) -> None:
        self.values: list[EncryptedValue] = []

    def __call__(self, value: EncryptedValue) -> Secret:
        self.values.append(value)
        return placeholder(value.file, value.key)


def compile_prefetched(
    compiler: Compiler,
    reader: Prefetching,
    values: Sequence[EncryptedValue],
    facts: Mapping[str, Any],
    host: str,
    *,
    jobs: int,
) -> tuple[Catalog, LookupContext]:
    """The real compile, `values` (what an opaque compile of this catalog met) decrypted first, `jobs` at a time."""
    reader.prefetch(values, jobs)
    try:
        return compiler.compile(facts, host)
    finally:
        reader.settle()
