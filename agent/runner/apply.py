"""Applies a catalog: in order, each resource inspected, diffed, changed unless noop, and recorded."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from agent.catalog.graph import Catalog
from agent.errors import TendError
from agent.providers import Providers
from agent.reports.model import Report, ResourceResult, Status, iso
from agent.resources.base import Resource
from agent.runner.state import RunState
from agent.system import Host

if TYPE_CHECKING:  # a catalog without files never imports the file type
    from agent.resources.file import File

_BROKEN = (Status.FAILED, Status.SKIPPED)
# Changes of short plain values that many resources repeat (each new file's `ensure: absent -> file`) are one
# dict each: reports only write them. Not floats (0.0 and -0.0 are equal, not the same); the first few kinds.
_SHARED_KINDS = 256
_SHORT = 40


class Runner:
    """Owns noop, ordering, skipping, refresh delivery and the drift record; resources only check and fix.

    The run's `providers` (one instance of each provider, so bulk reads are shared) choose each
    resource's provider, which the runner passes to the resource's `current`, `fix` and `refresh`.

    A refresh owed to a resource is written to the state before the change that causes it, and
    cleared once delivered, so a run killed in between delivers it on the next run.

    The writes of `batched` resources wait in the system's durability batch (DESIGN §7.5); the batch ends
    before any other resource, which may read what they wrote (§8.16), and before the state is saved. A
    write that fails when its batch ends fails the resource that made it.
    """

    def __init__(
        self,
        catalog: Catalog,
        system: Host,
        state: RunState,
        *,
        noop: bool = False,
        tags: frozenset[str] = frozenset(),
        stop: Callable[[], bool] = lambda: False,
        on_result: Callable[[ResourceResult], None] = lambda result: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        diffs: bool = False,
        providers: Providers | None = None,
        only: frozenset[str] | None = None,
    ):
        self.catalog = catalog
        self.system = system
        self.state = state
        self.noop = noop
        self.tags = tags
        self.only = only  # a watch correction's resources; the others are left alone
        self.stop = stop
        self.on_result = on_result
        self.clock = clock
        self.diffs = diffs
        self.providers = providers or Providers(system)
        self.results: dict[str, ResourceResult] = {}
        self.refreshes: dict[str, list[str]] = {}  # target -> sources that changed (or would) this run
        self.strays: dict[str, list[str]] = {}  # a purged directory -> the paths in it that nothing declares
        self._batched: dict[str, tuple[Resource[Any], ResourceResult]] = {}  # whose writes may be waiting
        self._undoing: set[str] = set()  # of those, the dropped resources being undone (nothing to record)
        self._cleaned: set[str] = set()  # directories whose stale temps this run removed
        self._changes: dict[tuple[Any, ...], dict[str, Any]] = {}

    def run(self, report: Report) -> None:
        depends = self.catalog.dependencies()
        targets = self.catalog.refresh_targets()
        # Directories owned by other users are entered only for the catalog's own files and users (§8.6).
        self.system.trust(
            paths=[cast("File", r).path for r in self.catalog.resources.values() if r.type_name == "file"],
            users=[r.name for r in self.catalog.resources.values() if r.type_name == "user"],
        )
        if not self.noop:
            self._clean_temps(self.catalog.resources.values())
        for rid in self.catalog.order:
            resource = self.catalog.resources[rid]
            if (self.tags and not self._tagged(resource)) or (self.only is not None and rid not in self.only):
                continue
            if self.stop():
                result = ResourceResult(rid, Status.SKIPPED, error="interrupted", sensitive=resource.sensitive)
                report.interrupted = True
            else:
                if not self.noop:
                    self._batch_for(resource)
                result = self._one(resource, depends.get(rid, []), targets.get(rid, []))
            result.instance = resource.instance
            self.results[rid] = result
            if resource.batched:
                self._batched[rid] = (resource, result)
            report.resources.append(result)
            self.on_result(result)
            for path in self.strays.pop(rid, []) if result.status is not Status.FAILED else []:
                purged = self._purge(resource, path)
                report.resources.append(purged)
                self.on_result(purged)
        if not self.noop:
            self.system.acting_for(None)
            self.save_state()

    def save_state(self) -> None:
        """The renames before the state that records them: a crash never leaves a record of a lost change."""
        self._end_batch()
        self.state.save()

    def end_batch(self) -> None:
        """End the durability batch: every write so far renamed and durable, a failed one failing its resource."""
        self.system.acting_for(None)
        self._end_batch()

    def _batch_for(self, resource: Resource[Any]) -> None:
        """Let `resource`'s writes join the batch, or end the batch before a resource that may read them."""
        if resource.batched:
            self.system.acting_for(resource.id)
            return
        self.system.acting_for(None)
        self._end_batch()

    def _end_batch(self) -> None:
        """Every write so far durable; one that failed fails its resource (recorded so, its file kept old)."""
        self.system.sync()
        for owner, error in self.system.failed_writes().items():
            found = self._batched.get(owner or "")
            if found is None:
                raise error  # a write no resource of this catalog made: the run cannot say it converged
            resource, result = found
            result.status, result.error = Status.FAILED, str(error)
            if resource.id in self._undoing:
                continue  # no longer declared: its record in the catalog is kept instead (agent/runner/dropped.py)
            sensitive = resource.sensitive or self.state.held_secret(resource.id)
            digest = self.state.digest(resource.desired())
            self.state.record(resource.id, digest, str(Status.FAILED), iso(self.clock()), sensitive=sensitive)
        self._batched.clear()  # every write so far is settled
        self._undoing.clear()

    def _clean_temps(self, resources: Iterable[Resource[Any]]) -> None:
        """Temp files a killed run left next to the files of `resources`, once per directory (runs hold the lock)."""
        directories = {d for resource in resources for d in resource.temp_dirs()} - self._cleaned
        self._cleaned |= directories
        for directory in sorted(directories):
            try:
                path = self.system.resolve(directory, follow=True)
            except TendError:
                continue
            if path.is_dir():
                self.system.cleanup_stale_temps(path)

    def _tagged(self, resource: Resource[Any]) -> bool:
        names = {*resource.tags, resource.type_name, *resource.class_name.split("::"), resource.class_name}
        return bool(names & self.tags)

    def _one(self, resource: Resource[Any], depends: list[str], targets: list[str]) -> ResourceResult:
        rid = resource.id
        broken = [d for d in depends if d in self.results and self.results[d].status in _BROKEN]
        if broken:
            return ResourceResult(
                rid, Status.SKIPPED, sensitive=resource.sensitive, error=f"dependency {broken[0]} failed"
            )
        started = time.perf_counter()
        result = ResourceResult(rid, Status.UNCHANGED, sensitive=resource.sensitive)
        try:
            self._converge(resource, targets, result)
        except TendError as error:
            result.status, result.error = Status.FAILED, str(error)
        except OSError as error:
            result.status, result.error = Status.FAILED, str(error.strerror or error)
        if result.status is Status.FAILED and not self.noop:
            # Recorded so that the next run does not take what failed here for a change behind tend's back.
            sensitive = resource.sensitive or self.state.held_secret(rid)
            self.state.record(
                rid, self.state.digest(resource.desired()), str(Status.FAILED), iso(self.clock()), sensitive=sensitive
            )
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    def _converge(self, resource: Resource[Any], targets: list[str], result: ResourceResult) -> None:
        rid = resource.id
        provider = self.providers.get(resource.type_name, resource.values)
        desired = resource.desired()
        changes = resource.changes(desired, resource.current(self.system, provider))
        self.strays[rid] = resource.strays(self.system)
        digest = self.state.digest(desired)
        drifted = any(change.drift for change in changes)
        result.drift = resource.drift_detectable and self.state.drifted(rid, digest, drifted)
        # What held a secret when last recorded may still be one on the host: its old values stay hidden.
        held = self.state.held_secret(rid)
        result.sensitive = resource.sensitive or held
        hidden = [resource.hides(c.property) or (held and _sensitive(resource, c.property)) for c in changes]
        result.changes = [self._shared(c.to_json(hide)) for c, hide in zip(changes, hidden, strict=True)]
        owed = self.refreshes.get(rid, []) + [
            s for s in self.state.owed.get(rid, []) if s not in self.refreshes.get(rid, [])
        ]
        if self.noop:
            if changes:
                result.status = Status.WOULD_CHANGE
                if self.diffs and not held:
                    result.diff = resource.diff_text(self.system)
            elif owed and resource.refreshable:
                result.status = Status.WOULD_REFRESH
            if changes or result.status is Status.WOULD_REFRESH:
                self._signal(rid, targets)
            return
        if changes:
            self.state.owe(targets, rid)
            if targets:
                self.save_state()
            try:
                resource.fix(self.system, provider, changes)
            except BaseException:
                self._retract(rid, targets)
                raise
            finally:
                self.system.changed()
            result.status = Status.CHANGED
            self._signal(rid, targets)
        if owed and resource.refreshable and not changes:
            try:
                resource.refresh(self.system, provider)
            finally:
                self.system.changed()
            result.status = Status.CHANGED
            result.changes.append({"property": "refresh", "from": None, "to": sorted(owed)})
            self._signal(rid, targets)
        self.state.settle(rid)
        self.state.record(rid, digest, str(result.status), iso(self.clock()), sensitive=resource.sensitive)

    def _purge(self, resource: Resource[Any], path: str) -> ResourceResult:
        """A stray of a purged directory, reported as the `file:<path>` it is: would-purge in noop, else removed."""
        result = ResourceResult(f"file:{path}", Status.WOULD_PURGE if self.noop else Status.REMOVED)
        found = self.system.read_state(self.system.resolve(path))
        result.changes = [{"property": "ensure", "from": str(found.kind) if found else "present", "to": "absent"}]
        if self.noop:
            return result
        started = time.perf_counter()
        try:
            resource.purge(self.system, path)
        except TendError as error:
            result.status, result.error = Status.FAILED, str(error)
        except OSError as error:
            result.status, result.error = Status.FAILED, str(error.strerror or error)
        finally:
            self.system.changed()
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    def undo(self, resource: Resource[Any]) -> ResourceResult:
        """Undo a dropped resource, `resource` being the one that undoes it (agent/runner/dropped.py):
        `removed` (with its changes, none when nothing was left to remove), or `would-remove` in noop.

        Its writes join the durability batch as a declared resource's would: the caller ends the batch
        (`end_batch`) before it records that the resource is gone."""
        started = time.perf_counter()
        result = ResourceResult(resource.id, Status.WOULD_REMOVE if self.noop else Status.REMOVED)
        if not self.noop:
            self._clean_temps([resource])  # a run killed while it undid this one left them
            self._batch_for(resource)
            if resource.batched:
                self._batched[resource.id] = (resource, result)
                self._undoing.add(resource.id)
        try:
            provider = self.providers.get(resource.type_name, resource.values)
            changes = resource.changes(resource.desired(), resource.current(self.system, provider))
            result.changes = [c.to_json(resource.hides(c.property)) for c in changes]
            if changes and not self.noop:
                try:
                    resource.fix(self.system, provider, changes)
                finally:
                    self.system.changed()
        except TendError as error:
            result.status, result.error = Status.FAILED, str(error)
        except OSError as error:
            result.status, result.error = Status.FAILED, str(error.strerror or error)
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    def _shared(self, change: dict[str, Any]) -> dict[str, Any]:
        if not all(
            v is None or type(v) in (bool, int) or (type(v) is str and len(v) < _SHORT) for v in change.values()
        ):
            return change
        key = tuple((k, type(v), v) for k, v in change.items())
        found = self._changes.get(key)
        if found is None and len(self._changes) < _SHARED_KINDS:
            found = self._changes[key] = change
        return change if found is None else found

    def _signal(self, source: str, targets: list[str]) -> None:
        for target in targets:
            self.refreshes.setdefault(target, []).append(source)

    def _retract(self, source: str, targets: list[str]) -> None:
        for target in targets:
            sources = self.state.owed.get(target, [])
            if source in sources:
                sources.remove(source)
                if not sources:
                    self.state.owed.pop(target)


def _sensitive(resource: Resource[Any], name: str) -> bool:
    """Whether the attribute `name` can carry a secret (its values hidden when the resource holds one)."""
    spec = resource.attributes.get(name)
    return spec is not None and spec.sensitive
