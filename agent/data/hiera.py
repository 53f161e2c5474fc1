"""Hiera 5 lookups with provenance: a repository's data shared across hosts, searched per host's facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent.data.config import HieraConfig, Level, load_hiera_config
from agent.data.dotted_keys import MISSING, dig, split_key
from agent.data.interpolate import Interpolator, needs_interpolation
from agent.data.jsonfile import read_json_data
from agent.data.locations import DataLocation, resolve_inside, resolve_levels
from agent.data.merge_strategies import MergeOptions, Strategy, merge_found
from agent.data.modules import ModuleLayers, module_of
from agent.data.options import LOOKUP_OPTIONS, KeyOptions, OptionsTable, collect_options, key_options
from agent.data.scope import scope_of
from agent.data.sensitive import SensitiveValue
from agent.data.yamlfile import DataFile, read_data_file
from agent.errors import DataError, NotFound, TendError
from agent.location import Location

if TYPE_CHECKING:
    from agent.data.explain import LevelTrace, LookupTrace

# One layer's candidate data files, in priority order, each parsed (None: no such file).
Layer = list[tuple[DataLocation, DataFile | None]]


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

    def get(self, path: str, backend: str = "yaml") -> DataFile | None: ...
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

    def get(self, path: str, backend: str = "yaml") -> DataFile | None:
        """The data file at `path`, parsed as YAML or, for `json_data` levels, as JSON."""
        if path not in self._files:
            full = resolve_inside(self.root, path) if (self.root / path).is_file() else None
            read = read_json_data if backend == "json" else read_data_file
            self._files[path] = read(full, path, strict=self.strict) if full else None
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
        self.modules = ModuleLayers(root)

    def context(self, facts: Mapping[str, Any]) -> LookupContext:
        return LookupContext(self, facts)


def _trace(key: str, options: MergeOptions, origin: str) -> LookupTrace:
    """A lookup's explanation to fill in (`--explain`): agent/data/explain.py is imported for these only."""
    from agent.data.explain import LookupTrace

    return LookupTrace(key, options.to_json(), origin)


def _foreign_keys(module: str, layer: Layer) -> list[str]:
    """Keys of a module's data outside its namespace: Puppet ignores them with a warning, and so does tend."""
    prefix = f"{module}::"
    return [
        f"{datafile.path}: key '{key}' is not in module {module}'s namespace ({prefix}...) and is ignored"
        for _, datafile in layer
        if datafile is not None
        for key in datafile.data
        if key != LOOKUP_OPTIONS and not str(key).startswith(prefix)
    ]


class LookupContext:
    """Lookups for one host: its data files resolved once, interpolated values cached, reads recorded."""

    def __init__(self, hiera: Hiera, facts: Mapping[str, Any]):
        self.hiera = hiera
        self.facts = facts
        self.scope = scope_of(facts)
        self.interpolator = Interpolator(self.scope, self._nested_lookup)
        self._locations: Layer | None = None
        self._modules: dict[str, Layer] = {}
        self._values: dict[tuple[str, str], Any] = {}
        self._key_options: dict[str, KeyOptions] = {}
        self._options: dict[str | None, OptionsTable] = {}
        self._warnings: list[str] = []
        self._collectors: list[list[Source]] = []
        self._traces: list[LookupTrace] = []  # the lookups being explained, innermost last
        self.last_trace: LookupTrace | None = None
        self.used: dict[tuple[str, str], Source] = {}
        self.missing: set[str] = set()

    @property
    def locations(self) -> Layer:
        """The environment layer: every candidate data file of hiera.yaml's hierarchy, for this host."""
        if self._locations is None:
            self._locations = self._read(self.hiera.config.levels)
        return self._locations

    def module_locations(self, name: str | None) -> Layer:
        """Module `name`'s layer for this host (empty when it has no data), its foreign keys warned about."""
        if name is None:
            return []
        if name not in self._modules:
            config = self.hiera.modules.config(name)
            layer = self._read(config.levels) if config is not None else []
            self._warnings.extend(_foreign_keys(name, layer))
            self._modules[name] = layer
        return self._modules[name]

    def _read(self, levels: tuple[Level, ...]) -> Layer:
        backends = {level.name: level.backend for level in levels}
        found = resolve_levels(levels, self.hiera.root, self.scope)
        return [(loc, self.hiera.store.get(loc.path, backends[loc.level])) for loc in found]

    @property
    def warnings(self) -> list[str]:
        """The warnings of the data files this host's lookups have read so far, modules included."""
        layers = [self._locations or [], *self._modules.values()]
        files = [file for layer in layers for _, file in layer if file]
        return [*self.hiera.modules.warnings, *self._warnings, *(w for file in files for w in file.warnings)]

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
        configured = self._options_of(root)
        options, origin = (
            (MergeOptions.parse(merge), "explicit") if merge is not None else (configured.merge, configured.origin)
        )
        record = _trace(key, options, origin) if trace else None
        if record is not None:
            if self._traces:
                self._traces[-1].sub_lookups.append(record)
            else:
                self.last_trace = record
            self._traces.append(record)
        try:
            found, sources = self._search(root, options, record, configured.sensitive)
            value = MISSING
            if found:
                merged = merge_found(found, options)
                value = dig(merged, segments[1:], key)
                if configured.sensitive and value is not MISSING:
                    value = SensitiveValue(value, sources[0].file, root)
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

    def _search(
        self, root: str, options: MergeOptions, record: LookupTrace | None, sensitive: bool
    ) -> tuple[list, list]:
        """The environment layer, then the module layer of `root`'s namespace."""
        found: list[Any] = []
        sources: list[Source] = []
        level_trace: LevelTrace | None = None
        module = module_of(root)
        layers = [(None, self.locations), (module, self.module_locations(module))]
        for layer, location, datafile in ((m, loc, f) for m, locs in layers for loc, f in locs):
            if record is not None and (
                level_trace is None or (level_trace.name, level_trace.module) != (location.level, layer)
            ):
                from agent.data.explain import LevelTrace

                level_trace = LevelTrace(location.level, module=layer)
                record.levels.append(level_trace)
            if datafile is None or root not in datafile.data:
                if level_trace is not None:
                    from agent.data.explain import PathTrace

                    status = "path not found" if datafile is None else "not found"
                    level_trace.paths.append(PathTrace(location.original, location.path, status))
                continue
            value = self._value(datafile, root, cached=record is None)
            line = datafile.line_of(root)
            found.append(value)
            sources.append(Source(location.level, datafile.path, line, root))
            if level_trace is not None:
                from agent.data.explain import PathTrace

                shown = SensitiveValue(value, datafile.path, root) if sensitive else value
                level_trace.paths.append(PathTrace(location.original, location.path, "found", shown, line))
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

    def _options_of(self, root: str) -> KeyOptions:
        """What lookup_options say for `root` (the same for every lookup of this host)."""
        if root not in self._key_options:
            table = self._options_table(module_of(root))
            self._key_options[root] = key_options(table, root, self.interpolator.interpolate)
        return self._key_options[root]

    def _options_table(self, module: str | None) -> OptionsTable:
        """The lookup_options of the environment, over those of `module`'s own layer."""
        if module not in self._options:
            environment = (file for _, file in self.locations)
            layer = self.module_locations(module)
            own = (module, [file for _, file in layer]) if module is not None and layer else None
            self._options[module] = collect_options(environment, own)
        return self._options[module]

    def options_for(self, key: str) -> dict[str, Any]:
        """The lookup_options entry that applies to root key `key` for this host ({} when none or not a hash)."""
        found = self._options_table(module_of(key)).spec_for(key)
        return found[0] if found is not None and isinstance(found[0], dict) else {}
