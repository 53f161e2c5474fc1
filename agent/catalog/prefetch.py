"""A host's compile in three steps: secrets opaque to learn which values the catalog uses, those decrypted at
once by several gpg processes, then the real compile with the values ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from agent.catalog.compile import Compiler, Decryptor
from agent.catalog.graph import Catalog
from agent.data.encrypted import EncryptedValue
from agent.data.hiera import LookupContext
from agent.errors import TendError
from agent.secrets.secret import Secret, placeholder


class Prefetching(Decryptor, Protocol):
    """A reader that can decrypt ahead what a compile will ask for (agent/secrets/reader.py `HostSecrets`)."""

    def prefetch(self, values: Sequence[EncryptedValue], jobs: int) -> None: ...

    def settle(self) -> None: ...


class _Opaque:
    """The first step's reader: notes each encrypted value the compile meets and gives a placeholder."""

    def __init__(self) -> None:
        self.values: list[EncryptedValue] = []

    def __call__(self, value: EncryptedValue) -> Secret:
        self.values.append(value)
        return placeholder(value.file, value.key)


def compile_prefetching(
    compiler: Compiler, reader: Prefetching, facts: Mapping[str, Any], host: str, *, jobs: int
) -> tuple[Catalog, LookupContext]:
    """`compiler.compile(facts, host)`, `compiler` reading secrets through `reader`, with the values the catalog
    uses decrypted up to `jobs` at a time before it asks for them.

    The real compile still meets each value in order: it records the reads (so the report and the audit log
    list them as a lazy compile does) and raises any error where a lazy compile would. With `jobs` below 2,
    or when the opaque compile fails, that compile is all there is: the lazy path, one gpg at a time. A
    catalog that uses no secret is compiled once.
    """
    if jobs < 2:
        return compiler.compile(facts, host)
    opaque = _Opaque()
    try:
        compiled = compiler.sibling(opaque).compile(facts, host)
    except TendError:
        return compiler.compile(facts, host)
    if not opaque.values:
        return compiled
    reader.prefetch(opaque.values, jobs)
    try:
        return compiler.compile(facts, host)
    finally:
        reader.settle()
