"""A host's compile through the compile cache (agent/catalog/cache.py), holding no decrypted value.

A catalog that meets no encrypted value is kept whole, and a hit is the catalog with no compile at all. A
catalog that uses secrets is never kept: what is kept is what its opaque compile (agent/catalog/prefetch.py)
learned, the encrypted values it uses, so that a hit decrypts those at once and goes straight to the real
compile, which reads them in order (the report's `secrets_read` and the audit log as without a cache).
A compile that drew on chance (Jinja's `random`) or read facts that are not plain data is not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agent.catalog.cache import CompileCache
from agent.catalog.graph import Catalog
from agent.catalog.snapshot import from_plain, to_plain
from agent.catalog.tracking import ReadFacts
from agent.data.encrypted import EncryptedValue
from agent.errors import TendError
from agent.location import Location
from agent.secrets.secret import Secret

if TYPE_CHECKING:  # the compile's modules are imported only when something is compiled
    from agent.catalog.prefetch import Prefetching

CATALOG, SECRETS = "catalog", "secrets"


class _Noting:
    """A reader that passes every value on and notes that the compile met one."""

    def __init__(self, reader: Callable[[EncryptedValue], Secret]):
        self.reader = reader
        self.met = False

    def __call__(self, value: EncryptedValue) -> Secret:
        self.met = True
        return self.reader(value)


def compile_cached(
    make: Callable[[], Any],
    reader: Prefetching,
    facts: Mapping[str, Any],
    host: str,
    *,
    jobs: int,
    cache: CompileCache,
    key: Callable[[], str | None],
) -> tuple[Catalog, set[str]]:
    """The catalog `make()` (a Compiler reading secrets through `reader`) compiles for `host`, and the
    plaintexts its reader gave (for the last line of defence); from the cache entry `key()` names when its
    facts match. A compile is kept only when `key()` still gives that name after it (nothing it read changed
    while it ran).
    """
    keeper = _Keeper(cache, key)
    entry = cache.get(keeper.name, facts)
    if entry is not None and entry.kind == CATALOG:
        try:
            return from_plain(entry.body), set()
        except (ValueError, KeyError, TypeError, TendError):
            pass  # an entry this tend cannot rebuild is compiled afresh
    from agent.catalog.prefetch import Opaque, compile_prefetched

    compiler = make()
    if entry is not None and entry.kind == SECRETS and jobs >= 2:
        values = _values(entry.body)
        if values is not None:
            return compile_prefetched(compiler, reader, values, facts, host, jobs=jobs)[0], compiler.plaintexts
    tracked = ReadFacts(facts)
    if jobs < 2:
        noting = _Noting(compiler.secrets)
        sibling = compiler.sibling(noting)
        catalog, _ = sibling.compile(tracked, host)
        if not noting.met:
            keeper.catalog(sibling, tracked, catalog)
        return catalog, sibling.plaintexts
    opaque = Opaque()
    try:
        catalog, _ = compiler.sibling(opaque).compile(tracked, host)
    except TendError:
        return compiler.compile(facts, host)[0], compiler.plaintexts
    if not opaque.values:
        keeper.catalog(compiler, tracked, catalog)
        return catalog, set()
    if compiler.renderer.repeatable:
        keeper.keep(SECRETS, tracked, tuple(_plain_value(v) for v in opaque.values))
    return compile_prefetched(compiler, reader, opaque.values, facts, host, jobs=jobs)[0], compiler.plaintexts


class _Keeper:
    """Where a compile is kept: the cache, and the entry's name as it was before the compile."""

    def __init__(self, cache: CompileCache, key: Callable[[], str | None]):
        self.cache = cache
        self.key = key
        self.name = key()

    def catalog(self, compiler: Any, tracked: ReadFacts, catalog: Catalog) -> None:
        """Keep a catalog that holds no secret, rendered without chance."""
        if not compiler.renderer.repeatable:
            return
        if any(resource.sensitive or resource.tainted for resource in catalog.resources.values()):
            return
        self.keep(CATALOG, tracked, to_plain(catalog))

    def keep(self, kind: str, tracked: ReadFacts, body: Any) -> None:
        if self.name is not None and self.key() == self.name:
            self.cache.put(self.name, kind, tracked.read(), body)


def _plain_value(value: EncryptedValue) -> tuple[Any, ...]:
    return (value.text, value.location.file, value.location.line, value.key, value.column)


def _values(body: Any) -> list[EncryptedValue] | None:
    try:
        return [EncryptedValue(text, Location(file, line), key, column) for text, file, line, key, column in body]
    except (ValueError, TypeError):
        return None
