"""The Hiera key `tend::remove_dropped`: the resource types undone once dropped from the manifests."""

from __future__ import annotations

from agent.data.hiera import LookupContext
from agent.errors import DataError, NotFound
from agent.formats import did_you_mean
from agent.location import Location
from agent.resources import TYPES

KEY = "tend::remove_dropped"


def remove_dropped(context: LookupContext) -> frozenset[str]:
    """The types named by `tend::remove_dropped` (merged unique across the hierarchy); none when unset."""
    try:
        found = context.lookup(KEY, "unique")
    except NotFound:
        return frozenset()
    where = Location(found.sources[0].file, found.sources[0].line) if found.sources else None
    names = found.value if isinstance(found.value, list) else [found.value]
    for name in names:
        if name not in TYPES:
            hint = did_you_mean(str(name), TYPES) or f" (types: {', '.join(sorted(TYPES))})"
            raise DataError(f"{KEY}: {name!r} is not a resource type{hint}", location=where)
    return frozenset(names)
