"""One converge of this host, as apply, plan and run do it: lock, compile, apply, checks, report, logs, metrics."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.catalog.cache import CompileCache, tree_digest
from agent.catalog.cached import compile_cached
from agent.catalog.graph import Catalog
from agent.catalog.inventory import cached_inventory
from agent.errors import ConfigError, DataError, ManifestError, NotFound, SecretError, SecretNotForHost, TendError
from agent.pipeline import PIPELINE
from agent.providers import Providers
from agent.providers.options import ProviderOptions, configured_options
from agent.reports.model import Report, ResourceResult, RunStatus, iso
from agent.reports.store import ReportStore
from agent.run.lock import hold_lock
from agent.run.notify import SILENT, Notifier
from agent.run.redact import Redactor
from agent.run.request import ConvergeRequest
from agent.run.stop import Interrupted, StopFlag
from agent.runner.apply import Runner
from agent.runner.dropped import Dropped
from agent.runner.state import RunState
from agent.secrets.auditlog import AuditLog, to_syslog
from agent.secrets.gpg import GnuPG
from agent.secrets.reader import HostSecrets
from agent.secrets.repo_keys import load_repo_keys, refuse_found, refuse_private_keys
from agent.settings import AgentSettings
from agent.system import Bucket, Root, System

if TYPE_CHECKING:
    from agent.pipeline.model import Pipeline

# Errors of the commit itself (§8.2): a bundle failing with one of these is refused for this host.
_COMMIT_FAULTS = (ManifestError, DataError, ConfigError, NotFound, SecretNotForHost)


@dataclass(frozen=True, slots=True)
class Converged:
    """A converge's report, the signal that interrupted it (0 when none did), and whether it could not
    start for a fault of the commit (private keys, an invalid pipeline.yaml, a compile error)."""

    report: Report
    signal: int = 0
    commit_fault: bool = False

    def exit_code(self, detailed: bool = False) -> int:
        if self.report.interrupted and self.signal:
            return 128 + self.signal
        return self.report.exit_code(detailed)


def converge(
    settings: AgentSettings,
    request: ConvergeRequest,
    notify: Notifier = SILENT,
    *,
    stop: Callable[[], bool] | None = None,
    lock_held: bool = False,
) -> Converged:
    """One converge as `request` says, its report stored. Unless the caller gives `stop`, SIGTERM and
    SIGINT stop it after the resource in hand. `lock_held`: the caller (the cycle) holds the run lock."""
    flag = StopFlag()
    with flag if stop is None else nullcontext():
        lock = None if lock_held else hold_lock(settings.state, wait=request.wait)
        try:
            interruptible = flag.raising if stop is None else nullcontext
            steps = _Converge(settings, request, notify, interruptible)
            report = steps.run(flag if stop is None else stop)
        finally:
            if lock is not None:
                lock.release()
    notify.converged(report)
    return Converged(report, flag.signal, steps.commit_fault)


class _Converge:
    """The steps of one converge, from a new report to the stored one."""

    def __init__(
        self,
        settings: AgentSettings,
        request: ConvergeRequest,
        notify: Notifier,
        interruptible: Callable[[], AbstractContextManager[None]] = nullcontext,
    ):
        """`interruptible`: the block within which a stop signal ends the compile at once."""
        self.settings = settings
        self.request = request
        self.notify = notify
        self.interruptible = interruptible
        self.reports = ReportStore(settings.state.reports, settings.report_retention)
        self.redactor = Redactor((), notify.warning)
        self.commit_fault = False
        self.pipeline: Pipeline | None = None
        self.cache = compile_cache(settings, noop=request.noop)

    def run(self, stop: Callable[[], bool]) -> Report:
        request = self.request
        started = datetime.now(UTC)
        bundle = dict(request.bundle) if request.bundle is not None else None
        mode = "watch" if request.only is not None else "noop" if request.noop else "apply"
        report = Report(self.reports.next_run_id(started), request.host, started, mode, bundle)
        try:
            self._converge(report, stop)
        except TendError as error:
            report.error = str(error)
        except Interrupted as stopped:
            report.interrupted = True
            report.error = f"interrupted by signal {stopped.signum} during the compile: nothing was changed"
            self._log_reads(report)
        self.redactor.report(report)
        report.finished = datetime.now(UTC)
        report.timings["total_s"] = (report.finished - report.started).total_seconds()
        partial = bool(request.tags) or request.only is not None
        full = not request.noop and not partial
        if full and report.bundle is not None and report.exit_code() == 0:
            report.bundle.setdefault("converged_since", iso(report.finished))
        self.reports.save(report.to_json(request.detailed_exitcodes), full=full)
        if not request.noop:
            self._log_run(report)
        if self.settings.metrics_file is not None and full:  # full applies only (§8.1)
            self._write_metrics(self.settings.metrics_file, report)
        return report

    def _write_metrics(self, path: Path, report: Report) -> None:
        """The §8.4 series of a full run, labelled with this host's inventory name and its stage."""
        from agent.reports.metrics import write_host_metrics  # only where agent.yaml names a metrics_file

        bundle = report.bundle or {}
        since = bundle.get("converged_since")
        write_host_metrics(
            path, report, host=self.request.host,
            stage=str(self.request.facts.get("environment") or "") or None,
            converged_since=datetime.fromisoformat(since) if since else None,
            refused=(bundle.get("refused") or {}).get("commit"),
        )  # fmt: skip

    def _vet(self) -> None:
        """What makes a commit unfit for any host (§8.2): private keys in it, an invalid pipeline.yaml or
        inventory."""
        try:
            if self.request.private_keys is None:
                in_store = self.request.repo.resolve().is_relative_to(self.settings.state.bundles.resolve())
                refuse_private_keys(self.request.repo, bundle=self.request.bundle is not None or in_store)
            else:
                refuse_found(self.request.private_keys)
            self.pipeline = _pipeline(self.request.repo)
            cached_inventory(self.request.repo, self.cache)
        except (SecretError, ConfigError, DataError):
            self.commit_fault = True
            raise

    def _converge(self, report: Report, stop: Callable[[], bool]) -> None:
        request, paths = self.request, self.settings.state
        clock = datetime.now(UTC)
        root = Root(request.root or Path("/"))
        system = System(root, None if request.noop else Bucket(paths.bucket))
        self._vet()
        keys = _Once(lambda: load_repo_keys(request.repo))
        keyring = GnuPG(paths.gnupg)
        reader = HostSecrets(keyring, keys, request.host, placeholders=request.preview)
        plaintexts: set[str] = set()
        try:
            with self.interruptible():
                catalog, plaintexts = compile_cached(
                    lambda: _compiler(request.repo, reader), reader, request.facts, request.host,
                    jobs=self.settings.decrypt_jobs(), **self._cache(),
                )  # fmt: skip
        except _COMMIT_FAULTS:
            self.commit_fault = True
            raise
        finally:
            report.secrets_read = [read.to_json() for read in reader.reads]
            keyring.release()
            self.redactor = Redactor(plaintexts, self.notify.warning)
        self._log_reads(report)
        self.notify.compiled(catalog)
        for warning in catalog.warnings:
            self.notify.warning(self.redactor.text(warning))
        report.timings["compile_s"] = (datetime.now(UTC) - clock).total_seconds()
        state = self._state(report)
        if not request.noop:
            # Before any change: temps a killed run left in the state, and proof that the state can
            # still be written, so that a run never converges without a record of it.
            for directory in (paths.root, paths.reports, *sorted(paths.bucket.glob("??"))):
                if directory.is_dir():
                    system.cleanup_stale_temps(directory)
            state.save()
        options = ProviderOptions(
            apt_options=configured_options(self.settings.apt, os.environ),
            apt_lists_max_age_s=self.settings.apt_lists_max_age_s,
            state_dir=paths.root,
            noop=request.noop,
            stop=stop,
        )
        runner = Runner(
            catalog, system, state, noop=request.noop, tags=request.tags, stop=stop,
            on_result=self._result, diffs=request.diffs,
            providers=Providers(system, options, note=self.notify.warning),
            only=None if request.only is None else catalog.refreshed_by(request.only & set(catalog.resources)),
        )  # fmt: skip
        clock = datetime.now(UTC)
        runner.run(report)
        self._dropped(catalog, state, runner, report)
        if not request.noop and request.only is None:
            state.save_ledger(report.run_id, (result.id for result in report.resources))
        report.timings["apply_s"] = (datetime.now(UTC) - clock).total_seconds()
        # Checks probe the live host, so a converge into another root (an image) has none to run. With a
        # pipeline every full run checks, so that promotion has evidence of health, not only of change.
        whole = not request.noop and request.only is None
        every_run = self.pipeline is not None and not request.tags
        if whole and root.is_host and catalog.checks and (every_run or report.status is RunStatus.CHANGED):
            from agent.runner.checks import run_checks  # a catalog without checks never loads the probes

            clock = datetime.now(UTC)
            report.checks = [result.to_json() for result in run_checks(catalog.checks, system)]
            report.timings["checks_s"] = (datetime.now(UTC) - clock).total_seconds()

    def _cache(self) -> dict[str, Any]:
        """The compile cache under the state directory and this compile's key in it (§8.19): the tree's
        digest (a bundle's as pulled, else one read now), the host and the repository's path."""
        request, cache = self.request, self.cache
        if cache.directory is None:
            return {"cache": cache, "key": lambda: None}
        path, at = str(request.repo.resolve()), time.time_ns()
        return {
            "cache": cache,
            "key": lambda: cache.key("run", request.tree or tree_digest(request.repo, at=at), request.host, path),
        }

    def _result(self, result: ResourceResult) -> None:
        """A resource's result, redacted before anything shows it."""
        self.redactor.result(result)
        self.notify.result(result)

    def _dropped(self, catalog: Catalog, state: RunState, runner: Runner, report: Report) -> None:
        """After the catalog, what the last full apply had and this catalog has not (DESIGN §8.1): only a
        full apply records or undoes (noop and plan report); a run with --tags, or one interrupted, leaves it
        all alone."""
        request = self.request
        if request.tags or request.only is not None or report.interrupted:
            return
        source = self.settings.source.get("git") if request.bundle is not None else None
        applied_for = {
            "repo": f"git {source}" if source else str(request.repo.resolve()),
            "host": request.host,
            "root": str((request.root or Path("/")).resolve()),
        }
        Dropped(catalog, state, runner, applied_for=applied_for, warn=self.notify.warning,
                on_result=self._result).run(report)  # fmt: skip
        if not request.noop:
            runner.save_state()

    def _state(self, report: Report) -> RunState:
        """The state of earlier runs. A damaged one is set aside and said; drift is then judged from the
        last full run's report where the ledger of its desired states still matches it."""
        state = RunState.load(self.settings.state.state_file, read_only=self.request.noop, now=datetime.now(UTC))
        damage = state.damaged
        if damage is None:
            return state
        report.state_damaged = True
        recalled = _recall(state, self.reports)
        if damage.moved_to is not None:
            done = f"moved it aside to {damage.moved_to}; refreshes it still owed are lost"
        else:
            done = (
                "left it in place (noop writes nothing); the next apply moves it aside and loses the refreshes it owes"
            )
        judged = f"drift is judged against the report of run {recalled}" if recalled else "drift cannot be told"
        self.notify.warning(f"{damage.path} is damaged ({damage.reason}): {done}; {judged}")
        return state

    def _log_run(self, report: Report) -> None:
        """A line per change (and failure) and one for the run, to syslog/journald; never a value."""
        from agent.reports.text import resource_line, summary
        from agent.system.syslog import send

        lines = [resource_line(result, colour=False) or "" for result in report.resources]
        commit = (report.bundle or {}).get("commit")
        ending = f"run {report.run_id}: {report.error}" if report.error else summary(report)
        send("tend", [*lines, ending + (f" (bundle {commit[:12]})" if commit else "")])

    def _log_reads(self, report: Report) -> None:
        """Every secret read goes to the hash-chained audit log (and syslog) before anything changes."""
        commit = (report.bundle or {}).get("commit")
        at = report.started.isoformat(timespec="seconds")
        entries = [
            {"time": at, "run_id": report.run_id, "host": report.host, "commit": commit, **read}
            for read in report.secrets_read
        ]
        to_syslog(AuditLog(self.settings.state.audit_log).append(entries))


def _pipeline(repo: Path) -> Pipeline | None:
    """The repository's pipeline; one without pipeline.yaml imports no pipeline model."""
    if not os.path.lexists(repo / PIPELINE):
        return None
    from agent.pipeline.model import load_pipeline

    return load_pipeline(repo)


def compile_cache(settings: AgentSettings, *, noop: bool) -> CompileCache:
    """The compile cache under the state directory (none when configured off); noop and plan use what it
    holds and write nothing (§5)."""
    return CompileCache(settings.state.compile_cache if settings.compile_cache else None, read_only=noop)


def _compiler(repo: Path, reader: HostSecrets) -> Any:
    """A compiler of `repo`, imported only when a compile is needed (a cached catalog needs none)."""
    from agent.catalog.compile import Compiler

    return Compiler(repo, secrets=reader)


def _recall(state: RunState, reports: ReportStore) -> str | None:
    """Give `state` the last full run's desired digests with the statuses of that run's stored report;
    that run's id, or None when the ledger or the report is gone or does not match."""
    ledger = state.ledger()
    if ledger is None:
        return None
    run_id, desired = ledger
    for name in ("last", run_id):
        try:
            stored = reports.load(name)
        except (OSError, ValueError):
            continue
        if isinstance(stored, dict) and stored.get("run_id") == run_id:
            resources = stored.get("resources")
            statuses = {
                r["id"]: r["status"]
                for r in (resources if isinstance(resources, list) else [])
                if isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("status"), str)
            }
            return run_id if state.recall(desired, statuses) else None
    return None


class _Once:
    """A value computed at its first use, then kept."""

    def __init__(self, make: Callable[[], Any]):
        self.make = make
        self.value: Any = None

    def __call__(self) -> Any:
        if self.value is None:
            self.value = self.make()
        return self.value
