"""`lookup_options` as Hiera merges them: every level hash-merged, the environment over a module's own."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agent.data.merge_strategies import MergeOptions
from agent.data.yamlfile import DataFile
from agent.errors import DataError, MergeError
from agent.location import Location

LOOKUP_OPTIONS = "lookup_options"
_CONVERTIBLE = ("Sensitive",)


@dataclass(frozen=True, slots=True)
class KeyOptions:
    """What lookup_options say for one root key: its merge, where that came from, and `convert_to`."""

    merge: MergeOptions
    origin: str
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class OptionsTable:
    """The merged lookup_options of one stack of data files: exact keys, then `^regex` keys in order."""

    exact: dict[str, tuple[Any, Location]]
    patterns: list[tuple[re.Pattern, Any, Location]]

    def spec_for(self, root: str) -> tuple[Any, Location] | None:
        """An exact key beats a regex; among regexes the first match wins."""
        if root in self.exact:
            return self.exact[root]
        return next(((spec, where) for regex, spec, where in self.patterns if regex.search(root)), None)


def collect_options(
    environment: Iterable[DataFile | None], module: tuple[str, Iterable[DataFile | None]] | None
) -> OptionsTable:
    """The lookup_options of the environment's files (highest priority first), over those of `module`
    (its name and its files), whose keys must all lie in its namespace."""
    merged: dict[str, tuple[Any, Location]] = {}
    if module is not None:
        name, files = module
        _lay(merged, list(files), f"{name}::")
    _lay(merged, list(environment), None)
    exact = {k: v for k, v in merged.items() if not k.startswith("^")}
    patterns = []
    for key, (spec, where) in merged.items():
        if key.startswith("^"):
            try:
                patterns.append((re.compile(key), spec, where))
            except re.error as error:
                raise DataError(f"invalid regular expression {key!r}: {error}", location=where) from None
    return OptionsTable(exact, patterns)


def _lay(merged: dict[str, tuple[Any, Location]], files: list[DataFile | None], prefix: str | None) -> None:
    """Lay the files' options over `merged`, lowest priority first: a higher entry replaces a lower one."""
    for datafile in reversed(files):
        if datafile is None or LOOKUP_OPTIONS not in datafile.data:
            continue
        options = datafile.data[LOOKUP_OPTIONS]
        where = Location(datafile.path, datafile.line_of(LOOKUP_OPTIONS))
        if not isinstance(options, dict):
            raise DataError("value of lookup_options must be a hash", location=where)
        for key, spec in options.items():
            key = str(key)
            if prefix is not None and not key.removeprefix("^").startswith(prefix):
                what = "patterns must match a key" if key.startswith("^") else "keys must"
                raise DataError(
                    f"all lookup_options {what} start with module name '{prefix[:-2]}' (not {key!r})",
                    location=where,
                )
            merged.pop(key, None)  # a higher level's entry replaces the lower's, at the end (Ruby)
            merged[key] = (spec, where)


def key_options(table: OptionsTable, root: str, interpolate: Callable[[Any], Any]) -> KeyOptions:
    """The merge and conversion lookup_options give `root`."""
    found = table.spec_for(root)
    if found is None:
        return KeyOptions(MergeOptions(), "default")
    spec, where = found
    if not isinstance(spec, dict):
        raise DataError(f"lookup_options for '{root}' must be a hash", location=where, subject=LOOKUP_OPTIONS)
    sensitive = _sensitive(spec.get("convert_to"), root, where)
    if "merge" not in spec:
        return KeyOptions(MergeOptions(), "default", sensitive)
    try:
        merge = MergeOptions.parse(interpolate(spec["merge"]))
    except MergeError as error:
        raise DataError(error.message, location=where, subject=f"lookup_options for '{root}'") from None
    return KeyOptions(merge, f"lookup_options in {where}", sensitive)


def _sensitive(convert_to: Any, root: str, where: Location) -> bool:
    if convert_to is None:
        return False
    target = convert_to[0] if isinstance(convert_to, list) and convert_to else convert_to
    if target not in _CONVERTIBLE:
        raise DataError(
            f"convert_to {target!r} is not supported (tend converts to {', '.join(_CONVERTIBLE)})",
            location=where,
            subject=f"lookup_options for '{root}'",
        )
    return True
