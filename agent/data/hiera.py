"""Hiera 5 lookups with provenance: a repository's data shared across hosts, searched per host's facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.data.config import HieraConfig, load_hiera_config
from agent.data.dotted_keys import MISSING, dig, split_key
from agent.data.explain import LevelTrace, LookupTrace, PathTrace
from agent.data.interpolate import Interpolator, needs_interpolation
from agent.data.locations import DataLocation, resolve_inside, resolve_levels
from agent.data.merge_strategies import MergeOptions, Strategy, merge_found
from agent.data.yamlfile import DataFile, read_data_file
from agent.errors import DataError, MergeError, NotFound, TendError
from agent.location import Location

LOOKUP_OPTIONS = "lookup_options"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a found value came from: the hierarchy level, the data file, the line and the root key."""

    level: str
    file: str
    line: int | None
    key: str


@dataclass(frozen=True, slots=True)
class Found:
    value: Any
    sources: tuple[Source, ...]


class DataBackend(Protocol):
    """Where the data files of hierarchy levels come from: `get` gives one, parsed (None: there is no such
    file); `inject` makes a key hold a value in one file for this backend only; `warnings` are those of the
    files given so far (`tend check` shows them)."""

    def get(self, path: str) -> DataFile | None: ...
    def inject(self, path: str, key: str, value: Any) -> None: ...
    @property
    def warnings(self) -> list[str]: ...


class DataStore:
    """The data backend of a repository on disk: reads each data file at most once, however many hosts and
    lookups use it."""

    def __init__(self, root: Path, *, strict: bool = False):
        """`strict`: a key written twice in a data file is an error, not a warning (`tend check --strict`)."""
        self.root = root
        self.strict = strict
        self._files: dict[str, DataFile | None] = {}

    def get(self, path: str) -> DataFile | None:
        if path not in self._files:
            full = resolve_inside(self.root, path) if (self.root / path).is_file() else None
            self._files[path] = read_data_file(full, path, strict=self.strict) if full else None
        return self._files[path]

    @property
    def warnings(self) -> list[str]:
        """What the data files read so far hold that Hiera accepts but is likely a mistake."""
        return [warning for file in self._files.values() if file for warning in file.warnings]

    def inject(self, path: str, key: str, value: Any) -> None:
        """Make `key` hold `value` in `path` for this store only (the file on disk is not touched)."""
        current = self.get(path)
        data = dict(current.data) if current else {}
        data[key] = value
        self._files[path] = DataFile(path, data, dict(current.lines) if current else {})


class Hiera:
    """A repository's hierarchy and data; `context(facts)` searches it for one host."""

    def __init__(
        self, root: Path, config: HieraConfig | None = None, backend: DataBackend | None = None, *, strict: bool = False
    ):
        self.root = root
        self.config = config or load_hiera_config(root)
        self.store: DataBackend = backend or DataStore(root, strict=strict)

    def context(self, facts: Mapping[str, Any]) -> LookupContext:
        return LookupContext(self, facts)


def scope_of(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Top-scope variables: every fact by name, plus `facts` and `trusted` as Puppet has them."""
    hostname = facts.get("hostname", "")
    trusted = {"certname": facts.get("fqdn", hostname), "hostname": hostname, "authenticated": "local"}
    return {**facts, "facts": dict(facts), "trusted": trusted}


class LookupContext:
    """Lookups for one host: its data files resolved once, interpolated values cached, reads recorded."""

    def __init__(self, hiera: Hiera, facts: Mapping[str, Any]):
        self.hiera = hiera
        self.facts = facts
        self.scope = scope_of(facts)
        self.interpolator = Interpolator(self.scope, self._nested_lookup)
        self._locations: list[tuple[DataLocation, DataFile | None]] | None = None
        self._values: dict[tuple[str, str], Any] = {}
        self._merge_cache: dict[str, tuple[MergeOptions, str]] = {}
        self._options: tuple[dict[str, tuple[Any, Source]], list[tuple[re.Pattern, Any, Source]]] | None = None
        self._collectors: list[list[Source]] = []
        self._traces: list[LookupTrace] = []  # the lookups being explained, innermost last
        self.last_trace: LookupTrace | None = None
        self.used: dict[tuple[str, str], Source] = {}
        self.missing: set[str] = set()

    @property
    def locations(self) -> list[tuple[DataLocation, DataFile | None]]:
        if self._locations is None:
            found = resolve_levels(self.hiera.config.levels, self.hiera.root, self.scope)
            self._locations = [(loc, self.hiera.store.get(loc.path)) for loc in found]
        return self._locations

    @property
    def warnings(self) -> list[str]:
        """The warnings of the data files this host's lookups have read so far."""
        return [warning for _, file in self._locations or () if file for warning in file.warnings]

    def lookup(self, key: str, merge: Any = None, *, trace: bool = False) -> Found:
        """Find `key`; raises NotFound. With trace=True the last trace is in `self.last_trace`."""
        self._collectors.append([])
        self.last_trace = None
        try:
            value = self.interpolator.guard(key, lambda: self._lookup(key, merge, trace))
        finally:
            sources = self._collectors.pop()
        if value is MISSING:
            self.missing.add(key)
            raise NotFound(key)
        for source in sources:
            self.used[(source.file, source.key)] = source
        return Found(value, tuple(dict.fromkeys(sources)))

    def lookup_value(self, key: str, default: Any = MISSING, merge: Any = None) -> Any:
        """The value alone; `default` when not found (NotFound when no default is given)."""
        try:
            return self.lookup(key, merge).value
        except NotFound:
            if default is MISSING:
                raise
            return default

    def _nested_lookup(self, key: str) -> Any:
        """%{lookup('k')} inside a value: records its sources in the enclosing lookup."""
        return self._lookup(key, None, bool(self._traces))

    def _lookup(self, key: str, merge: Any, trace: bool) -> Any:
        segments = split_key(key)
        root = str(segments[0])
        if root == LOOKUP_OPTIONS:  # Hiera's own key, not data: it never answers a lookup
            return MISSING
        options, origin = self._merge_options(root, merge)
        record = LookupTrace(key, options.to_json(), origin) if trace else None
        if record is not None:
            if self._traces:
                self._traces[-1].sub_lookups.append(record)
            else:
                self.last_trace = record
            self._traces.append(record)
        try:
            found, sources = self._search(root, options, record)
            value = MISSING
            if found:
                merged = merge_found(found, options)
                value = dig(merged, segments[1:], key)
        except TendError as error:
            if record is not None:
                record.error = str(error)
            raise
        finally:
            if record is not None:
                self._traces.pop()
        if value is not MISSING:
            self._collectors[-1].extend(sources)
        if record is not None:
            record.found, record.value = value is not MISSING, None if value is MISSING else value
        return value

    def _search(self, root: str, options: MergeOptions, record: LookupTrace | None) -> tuple[list, list]:
        found: list[Any] = []
        sources: list[Source] = []
        level_trace: LevelTrace | None = None
        for location, datafile in self.locations:
            if record is not None and (level_trace is None or level_trace.name != location.level):
                level_trace = LevelTrace(location.level)
                record.levels.append(level_trace)
            if datafile is None or root not in datafile.data:
                if level_trace is not None:
                    status = "path not found" if datafile is None else "not found"
                    level_trace.paths.append(PathTrace(location.original, location.path, status))
                continue
            value = self._value(datafile, root, cached=record is None)
            line = datafile.line_of(root)
            found.append(value)
            sources.append(Source(location.level, datafile.path, line, root))
            if level_trace is not None:
                level_trace.paths.append(PathTrace(location.original, location.path, "found", value, line))
            if options.strategy is Strategy.FIRST:
                break
        return found, sources

    def _value(self, datafile: DataFile, key: str, *, cached: bool) -> Any:
        """A data value with its interpolations done, once per host (again when explaining)."""
        cache_key = (datafile.path, key)
        if cached and cache_key in self._values:
            return self._values[cache_key]
        raw = datafile.data[key]
        value = raw
        if needs_interpolation(raw):
            try:
                value = self.interpolator.interpolate(raw)
            except DataError as error:
                if error.location is None:
                    error.location = Location(datafile.path, datafile.line_of(key))
                    error.subject = error.subject or f"key '{key}'"
                raise
        self._values[cache_key] = value
        return value

    def _merge_options(self, root: str, merge: Any) -> tuple[MergeOptions, str]:
        if merge is not None:
            return MergeOptions.parse(merge), "explicit"
        cached = self._merge_cache.get(root)
        if cached is None:
            cached = self._merge_cache[root] = self._configured_merge(root)
        return cached

    def _configured_merge(self, root: str) -> tuple[MergeOptions, str]:
        """The merge lookup_options give `root` (the same for every lookup of this host)."""
        exact, patterns = self._lookup_options()
        if root in exact:
            spec, source = exact[root]
        else:
            match = next(((spec, src) for regex, spec, src in patterns if regex.search(root)), None)
            if match is None:
                return MergeOptions(), "default"
            spec, source = match
        where = Location(source.file, source.line)
        if not isinstance(spec, dict):
            raise DataError(f"lookup_options for '{root}' must be a hash", location=where, subject=LOOKUP_OPTIONS)
        if "merge" not in spec:
            return MergeOptions(), "default"
        try:
            return MergeOptions.parse(self.interpolator.interpolate(spec["merge"])), f"lookup_options in {where}"
        except MergeError as error:
            raise DataError(error.message, location=where, subject=f"lookup_options for '{root}'") from None

    def options_for(self, key: str) -> dict[str, Any]:
        """The lookup_options entry that applies to root key `key` for this host ({} when none or not a hash)."""
        exact, patterns = self._lookup_options()
        spec = exact[key][0] if key in exact else next((s for regex, s, _ in patterns if regex.search(key)), None)
        return spec if isinstance(spec, dict) else {}

    def _lookup_options(self) -> tuple[dict[str, tuple[Any, Source]], list[tuple[re.Pattern, Any, Source]]]:
        """lookup_options of every level, hash-merged: for each key the highest level's options win."""
        if self._options is not None:
            return self._options
        merged: dict[str, tuple[Any, Source]] = {}
        for location, datafile in reversed(self.locations):
            if datafile is None or LOOKUP_OPTIONS not in datafile.data:
                continue
            options = datafile.data[LOOKUP_OPTIONS]
            source = Source(location.level, datafile.path, datafile.line_of(LOOKUP_OPTIONS), LOOKUP_OPTIONS)
            if not isinstance(options, dict):
                where = Location(datafile.path, source.line)
                raise DataError("value of lookup_options must be a hash", location=where)
            for key, spec in options.items():
                merged.pop(str(key), None)  # a higher level's entry replaces the lower's, at the end (Ruby)
                merged[str(key)] = (spec, source)
        exact = {k: v for k, v in merged.items() if not k.startswith("^")}
        patterns = []
        for key, (spec, source) in merged.items():
            if key.startswith("^"):
                try:
                    patterns.append((re.compile(key), spec, source))
                except re.error as error:
                    where = Location(source.file, source.line)
                    raise DataError(f"invalid regular expression {key!r}: {error}", location=where) from None
        self._options = (exact, patterns)
        return self._options
