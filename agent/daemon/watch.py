"""`watch: true`: the daemon watches the directories of the managed paths of the catalog it last converged
and corrects the resources whose paths changed behind its back (a report of mode `watch`).

The decisions are agent/daemon/watching.py's; watchdog's side is agent/system/watcher.py. A path's stat
signature is taken once the run that settled its resource is over (its batches renamed into place), so
tend's own writes leave it as recorded and cause no correction, however late their events arrive.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from agent.daemon.watching import (
    Budget,
    Debouncer,
    OverBudget,
    Plan,
    Signature,
    affected,
    directories_to_watch,
    managed_map,
    plan_watches,
)

if TYPE_CHECKING:
    from agent.catalog.graph import Catalog
    from agent.reports.model import ResourceResult
    from agent.system.watcher import Watcher


class Watch:
    """Between the daemon's timed runs: events in, debounced, filtered, and `correct(resource ids, wall
    time)` called from the daemon's thread; `correct` returns the signal that interrupted it (0: none)."""

    def __init__(
        self,
        correct: Callable[[frozenset[str], datetime], int],
        budget: Budget,
        *,
        warn: Callable[[str], None],
        note: Callable[[str], None],
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = datetime.now,
    ):
        self.correct = correct
        self.budget = budget
        self.warn = warn
        self.note = note
        self.monotonic = monotonic
        self.wall = wall
        self.debouncer = Debouncer()
        self.lock = threading.Lock()
        self.woken = threading.Event()
        self.managed: dict[str, tuple[str, ...]] = {}
        self.paths_of: dict[str, list[str]] = {}
        self.settled: dict[str, Signature] = {}
        self.unsettled: set[str] = set()
        self.watcher: Watcher | None = None
        self.plan: Plan | OverBudget | None = None
        self.planned_for: set[str] = set()
        self.stale = False

    def compiled(self, catalog: Catalog) -> None:
        """A run compiled `catalog`: its managed paths are the ones to watch once the run is over."""
        self.managed = managed_map((rid, r.owned_paths()) for rid, r in catalog.resources.items())
        self.paths_of = {}
        for path, rids in self.managed.items():
            for rid in rids:
                self.paths_of.setdefault(rid, []).append(path)
        self.stale = True

    def settle(self, result: ResourceResult) -> None:
        """A resource was converged (or judged, in noop): its paths, once the run is over, are tend's doing.
        Not before: a durability batch renames its files into place after their results (DESIGN §8.16)."""
        self.unsettled.update(self.paths_of.get(result.id, ()))

    def _settle(self) -> None:
        """Between runs: the signatures of the paths the last run settled, as it left them."""
        from agent.system.watcher import signature

        for path in self.unsettled:
            self.settled[path] = signature(path)
        self.unsettled.clear()

    def seen(self, path: str) -> None:
        """From watchdog's thread: an event says `path` changed."""
        with self.lock:
            self.debouncer.add(os.path.normpath(path), self.monotonic())
        self.woken.set()

    def sleep(self, seconds: float) -> None:
        """The daemon's sleep, cut short by an event."""
        self.woken.wait(seconds)
        self.woken.clear()

    def due_in(self) -> float:
        with self.lock:
            return self.debouncer.due_in(self.monotonic())

    def poll(self) -> int:
        """Watch what the last run managed, and correct what a finished burst of events changed; the
        signal that interrupted a correction (0: none)."""
        self._settle()
        if self.stale:
            self.stale = False
            self._rewatch()
        with self.lock:
            batch = self.debouncer.take(self.monotonic())
        if not batch:
            return 0
        from agent.system.watcher import signature

        now = {path: signature(path) for path in batch if path in self.managed}
        rids = affected(batch, self.managed, now, self.settled)
        if not rids:
            return 0
        self.note(f"watch: {', '.join(sorted(rids))} changed behind tend's back: correcting")
        return self.correct(rids, self.wall())

    def _rewatch(self) -> None:
        """The plan again when the managed directories changed; the watches checked either way (a directory
        removed or replaced is watched again)."""
        from agent.system.watcher import Watcher, count_dirs

        directories = directories_to_watch(self.managed, os.path.isdir)
        if directories != self.planned_for or self.plan is None:
            self.planned_for = directories
            plan = plan_watches(directories, self.budget, count_dirs)
            if isinstance(plan, OverBudget) and not isinstance(self.plan, OverBudget):
                self.warn(f"watch: {plan.reason}: falling back to timed runs only")
            elif isinstance(plan, Plan) and plan != self.plan:
                trees = sum(1 for w in plan.watches if w.recursive)
                self.note(
                    f"watch: {len(self.managed)} managed paths in {len(plan.watches)} watches "
                    f"({trees} of them trees; {plan.cost} inotify watches)"
                )
            self.plan = plan
        if isinstance(self.plan, OverBudget):
            self.stop()
            return
        if self.watcher is None:
            self.watcher = Watcher(self.seen)
        self.watcher.watch([(w.directory, w.recursive) for w in self.plan.watches])

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
