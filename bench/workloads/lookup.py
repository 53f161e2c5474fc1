"""Hiera lookups on a generated 5-level hierarchy, on one LookupContext per host as a run makes them.

Figures: first-merge lookups/s over a random sample of keys (~10% not found), unique lookups/s on array keys,
deep lookups/s on hash keys, the cold cost (a new Hiera: hiera.yaml and the host's data files read, then one
lookup), and a second host's first lookup on the same Hiera (its shared data files already read).
Baselines, measured in the same run: the same loop over a plain dict for lookups; reading and parsing the same
YAML files with PyYAML alone for the cold costs.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.data.hiera import Hiera, LookupContext
from agent.errors import NotFound
from bench.generate import Hierarchy, make_hierarchy
from bench.measure import Result, Settings, compare, peak_rss_kib

NAME = "lookup"
HOST = "web1"  # prod web server: node, role/env, role, env and common files
SAME_GROUP_HOST = "web2"  # shares every file but its node file with HOST
OTHER_HOST = "db-stg1"  # shares only common.yaml with HOST
MISSING_SHARE = 0.10
TARGETS = {"first": 50_000.0, "deep": 5_000.0}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Sizes:
    keys: int
    first: int  # lookups per repetition
    unique: int
    deep: int


FULL = Sizes(keys=10_000, first=20_000, unique=5_000, deep=5_000)
QUICK = Sizes(keys=400, first=300, unique=100, deep=100)


def run(settings: Settings) -> list[Result]:
    sizes = QUICK if settings.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tend-bench-") as directory:
        hierarchy = make_hierarchy(Path(directory), keys=sizes.keys, seed=settings.seed)
        return _run(hierarchy, sizes, settings)


def _run(hierarchy: Hierarchy, sizes: Sizes, settings: Settings) -> list[Result]:
    results, probe = _throughput(hierarchy, sizes, settings)  # its contexts are gone when it returns
    results.append(_cold(hierarchy, probe, settings))
    for name, other in (("same role and env", SAME_GROUP_HOST), ("other role and env", OTHER_HOST)):
        results.append(_second_host(hierarchy, other, probe, name, settings))
    return results


def _throughput(hierarchy: Hierarchy, sizes: Sizes, settings: Settings) -> tuple[list[Result], str]:
    """The lookups/s figures, on one context for the host; and the key the cold figures look up."""
    rng = random.Random(settings.seed + 1)
    root = hierarchy.root
    facts = hierarchy.hosts[HOST]
    visible = hierarchy.visible(HOST)
    keys = hierarchy.keys
    first_pool = sorted(k for k in visible if keys[k].merge is None)
    arrays = sorted(k for k in visible if keys[k].kind == "array")
    hashes = sorted(k for k in visible if keys[k].kind == "hash")
    invisible = sorted(set(keys) - visible)

    missing_count = round(sizes.first * MISSING_SHARE)
    missing = [f"{rng.choice(('profile', 'nginx', 'ntp'))}::nosuch::key_{i}" for i in range(missing_count // 2)]
    missing += rng.choices(invisible or missing, k=missing_count - len(missing))  # defined only for other hosts
    first_keys = rng.choices(first_pool, k=sizes.first - missing_count) + missing
    rng.shuffle(first_keys)
    unique_keys = rng.choices(arrays, k=sizes.unique)
    deep_keys = rng.choices(hashes, k=sizes.deep)

    hiera = Hiera(root)
    context = hiera.context(facts)  # one context for the host, shared by every lookup below
    tables = {
        "first": _check(context, first_keys, None, visible, object),
        "unique": _check(context, unique_keys, "unique", visible, list),
        "deep": _check(context, deep_keys, "deep", visible, dict),
    }
    rounds = {"repeat": settings.repeat, "warmup": settings.warmup}
    baseline_name = "the same loop over a dict"

    def figure(name: str, sample: list[str], merge: Any, table: dict[str, Any], target: float | None) -> Result:
        timing, baseline = compare(
            lambda: _lookups(context, sample, merge), lambda: _dict_lookups(table, sample), **rounds
        )
        return Result(NAME, name, "rate", len(sample), timing, baseline, baseline_name, target, peak_rss_kib())

    first_name = f"first, default merge ({MISSING_SHARE:.0%} missing)"
    results = [
        figure(first_name, first_keys, None, tables["first"], TARGETS["first"]),
        figure("first, merge='first'", first_keys, "first", tables["first"], None),
        figure("unique, array keys", unique_keys, "unique", tables["unique"], None),
        figure("deep, hash keys", deep_keys, "deep", tables["deep"], TARGETS["deep"]),
    ]

    # As a run makes them: a new host context each time (its values not yet interpolated), each key once.
    probe = first_pool[0]
    distinct = list(dict.fromkeys(first_keys))

    def new_context() -> LookupContext:
        fresh = hiera.context(facts)
        fresh.lookup(probe)  # its files located and its lookup_options merged, as the cold figure measures
        return fresh

    timing, baseline = compare(
        lambda fresh: _lookups(fresh, distinct, None),
        lambda: _dict_lookups(tables["first"], distinct),
        setup=new_context,
        **rounds,
    )
    note = "a new context per repetition, each key once (values interpolated anew)"
    rss = peak_rss_kib()
    results.append(
        Result(NAME, "first, new context", "rate", len(distinct), timing, baseline, baseline_name, None, rss, note)
    )
    return results, probe


def _lookups(context: LookupContext, sample: Sequence[str], merge: Any) -> int:
    """Look every key of `sample` up; returns how many were not found."""
    lookup = context.lookup
    missed = 0
    for key in sample:
        try:
            lookup(key, merge)
        except NotFound:
            missed += 1
    return missed


def _dict_lookups(table: dict[str, Any], sample: Sequence[str]) -> int:
    """The baseline: the same loop over a dict; returns how many keys were not in it."""
    get = table.__getitem__
    missed = 0
    for key in sample:
        try:
            get(key)
        except KeyError:
            missed += 1
    return missed


def _check(context: LookupContext, sample: list[str], merge: Any, visible: set[str], kind: type) -> dict[str, Any]:
    """Look every key up once: found exactly when the generator defined it for the host, of the expected type.
    Returns the values found, the baseline's dict."""
    table: dict[str, Any] = {}
    for key in dict.fromkeys(sample):
        try:
            value = context.lookup(key, merge).value
        except NotFound:
            if key in visible:
                raise AssertionError(f"benchmark data: {key!r} not found for {HOST}") from None
            continue
        if key not in visible or not isinstance(value, kind):
            raise AssertionError(f"benchmark data: {key!r} found for {HOST} as {type(value).__name__}")
        table[key] = value
    return table


def _parse_files(root: Path, paths: list[str]) -> None:
    """The baseline of the cold costs: read and parse the same YAML files with PyYAML alone."""
    for path in paths:
        yaml.load((root / path).read_text(encoding="utf-8"), Loader=_LOADER)


def _cold(hierarchy: Hierarchy, probe: str, settings: Settings) -> Result:
    root, facts = hierarchy.root, hierarchy.hosts[HOST]
    paths = ["hiera.yaml", *hierarchy.host_files(HOST)]
    timing, baseline = compare(
        lambda: Hiera(root).context(facts).lookup(probe),
        lambda: _parse_files(root, paths),
        repeat=settings.repeat,
        warmup=settings.warmup,
    )
    baseline_name = f"PyYAML parse of the {len(paths)} files"
    name = "cold: new Hiera, first lookup"
    return Result(NAME, name, "time", 1, timing, baseline, baseline_name, None, peak_rss_kib())


def _second_host(hierarchy: Hierarchy, other: str, probe: str, what: str, settings: Settings) -> Result:
    """A second host's first lookup on a Hiera whose first host has looked up (its files are shared)."""
    root = hierarchy.root
    paths = hierarchy.host_files(other)

    def first_host_done() -> Hiera:
        hiera = Hiera(root)
        hiera.context(hierarchy.hosts[HOST]).lookup(probe)
        return hiera

    timing, baseline = compare(
        lambda hiera: hiera.context(hierarchy.hosts[other]).lookup(probe),
        lambda: _parse_files(root, paths),
        repeat=settings.repeat,
        warmup=settings.warmup,
        setup=first_host_done,
    )
    shared = len(set(paths) & set(hierarchy.host_files(HOST)))
    note = f"{other}: {shared} of its {len(paths)} files already read"
    baseline_name = f"PyYAML parse of its {len(paths)} files"
    return Result(NAME, f"second host, {what}", "time", 1, timing, baseline, baseline_name, None, peak_rss_kib(), note)


def describe(settings: Settings) -> str:
    sizes = QUICK if settings.quick else FULL
    return (
        f"{sizes.keys:,} keys, 5 levels, host {HOST}; per repetition {sizes.first:,} first, "
        f"{sizes.unique:,} unique, {sizes.deep:,} deep lookups"
    )
