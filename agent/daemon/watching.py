"""Watch's decisions, pure: which directories to watch within the inotify budget, when a burst of events is
over, and which resources a batch of events calls for.

Nothing here touches the host or reads a clock: the caller gives the times, the stat signatures and the
count of a directory tree's subdirectories (agent/system/watcher.py reads them, agent/daemon/watch.py
puts it together).
"""

from __future__ import annotations

import itertools
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

Signature = tuple[int, ...] | None  # what a stat says of a path (None: absent); see agent/system/watcher.py

QUIET_S = 0.1  # a burst is over once no event came for this long
LONGEST_S = 0.5  # a burst that goes on is corrected anyway after this long, so the second target holds


@dataclass(frozen=True, slots=True)
class Budget:
    """tend's share of the kernel's inotify limits: `instances` (one per watched tree, as watchdog makes
    one per schedule) and `watches` (one per directory in them)."""

    instances: int
    watches: int


def budget_of(kernel: Budget, instances: int | None = None, watches: int | None = None) -> Budget:
    """agent.yaml's `watch_budget` capped by the kernel's limits; by default an eighth of the user's
    instances (other programs need theirs: 16 of Linux's usual 128) and a quarter of its watches."""
    return Budget(
        max(1, min(kernel.instances, instances if instances is not None else kernel.instances // 8)),
        max(1, min(kernel.watches, watches if watches is not None else kernel.watches // 4)),
    )


@dataclass(frozen=True, slots=True, order=True)
class Watch:
    """One directory watched: alone, or with every directory below it (`recursive`)."""

    directory: str
    recursive: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """The watches, and the inotify watches they cost."""

    watches: tuple[Watch, ...]
    cost: int


@dataclass(frozen=True, slots=True)
class OverBudget:
    """Why the managed paths cannot be watched within the budget (the daemon falls back to timed runs)."""

    reason: str


def managed_map(owned: Iterable[tuple[str, Iterable[str]]]) -> dict[str, tuple[str, ...]]:
    """Each managed host path and the resources that own it, from (resource id, its owned paths)."""
    paths: dict[str, list[str]] = {}
    for rid, owned_paths in owned:
        for path in owned_paths:
            paths.setdefault(posixpath.normpath(path), []).append(rid)
    return {path: tuple(sorted(set(rids))) for path, rids in sorted(paths.items())}


def directories_to_watch(paths: Iterable[str], is_dir: Callable[[str], bool]) -> set[str]:
    """The directory holding each managed path, or its nearest ancestor that exists yet."""
    found = set()
    for path in paths:
        directory = posixpath.dirname(path)
        while directory != "/" and not is_dir(directory):
            directory = posixpath.dirname(directory)
        found.add(directory)
    return found


def _parts(directory: str) -> tuple[str, ...]:
    return PurePosixPath(directory).parts


def _common(first: str, second: str) -> str:
    return posixpath.commonpath([first, second])


def plan_watches(directories: Iterable[str], budget: Budget, subdirs: Callable[[str, int], int]) -> Plan | OverBudget:
    """Directories, not files: each directory alone while the instances last; past them, the two whose
    common ancestor is deepest become one recursive watch of that ancestor, until they fit. `subdirs(d, n)`
    counts the directories of the tree at `d` (itself included), stopping past `n`."""
    watches = sorted((Watch(d) for d in set(directories)), key=lambda w: _parts(w.directory))
    while len(watches) > budget.instances:
        pairs = [(_common(a.directory, b.directory), a, b) for a, b in itertools.pairwise(watches)]
        ancestor = max(pairs, key=lambda pair: len(_parts(pair[0])))[0]
        if ancestor == "/":
            return OverBudget(f"{len(watches)} directories share no ancestor but / (budget: {budget.instances})")
        inside = [w for w in watches if w.directory == ancestor or w.directory.startswith(ancestor + "/")]
        rest = [w for w in watches if w not in inside]
        watches = sorted([*rest, Watch(ancestor, recursive=True)], key=lambda w: _parts(w.directory))
    cost = 0
    for watch in watches:
        cost += subdirs(watch.directory, budget.watches - cost) if watch.recursive else 1
        if cost > budget.watches:
            return OverBudget(f"the watched trees hold more than {budget.watches} directories")
    return Plan(tuple(watches), cost)


class Debouncer:
    """Paths seen in a burst of events, given as one batch once the burst is over (`QUIET_S` without an
    event) or has gone on for `LONGEST_S`. Times are the caller's (a monotonic clock)."""

    def __init__(self, quiet: float = QUIET_S, longest: float = LONGEST_S):
        self.quiet = quiet
        self.longest = longest
        self.paths: set[str] = set()
        self.first = self.last = 0.0

    def add(self, path: str, now: float) -> None:
        if not self.paths:
            self.first = now
        self.paths.add(path)
        self.last = now

    def due_in(self, now: float) -> float:
        """Seconds until the batch is due (0: now; infinity: nothing pending)."""
        if not self.paths:
            return float("inf")
        return max(0.0, min(self.last + self.quiet, self.first + self.longest) - now)

    def take(self, now: float) -> frozenset[str]:
        """The batch when it is due (then pending no more), else nothing."""
        if not self.paths or self.due_in(now) > 0:
            return frozenset()
        batch, self.paths = frozenset(self.paths), set()
        return batch


def affected(
    paths: Iterable[str],
    managed: Mapping[str, tuple[str, ...]],
    now: Mapping[str, Signature],
    settled: Mapping[str, Signature],
) -> frozenset[str]:
    """The resources to correct for the paths of a batch: managed paths whose signature `now` is not the
    one they had when tend last settled them (tend's own writes leave it equal, so they cause no run)."""
    return frozenset(
        rid
        for path in paths
        if path in managed and (path not in settled or now.get(path) != settled[path])
        for rid in managed[path]
    )
