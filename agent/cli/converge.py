"""One converge of this host, as apply, plan and run do it: lock, compile, apply, save the report."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.catalog.compile import Compiler
from agent.errors import HostError, LockError, TendError
from agent.providers import ProviderOptions, Providers
from agent.providers.apt import configured_options
from agent.reports.metrics import write_metrics
from agent.reports.model import Report, ResourceResult, RunStatus
from agent.reports.store import ReportStore
from agent.runner.apply import Runner
from agent.runner.checks import run_checks
from agent.runner.state import RunState
from agent.secrets.auditlog import AuditLog, to_syslog
from agent.secrets.gpg import GnuPG
from agent.secrets.reader import HostSecrets
from agent.secrets.repo_keys import load_repo_keys, refuse_private_keys
from agent.settings import AgentSettings
from agent.system import Bucket, Root, RunLock, System


class Converge:
    """One converge of a repository on this host (or an inventory host's facts), from lock to report."""

    def __init__(
        self,
        repo: Path,
        settings: AgentSettings,
        facts: Mapping[str, Any],
        *,
        host: str,
        root: Path | None = None,
        noop: bool = False,
        diffs: bool = False,
        tags: frozenset[str] = frozenset(),
        bundle: dict[str, str] | None = None,
        preview: bool = False,
        warn: Callable[[str], None] = lambda text: None,
        bundle_time: datetime | None = None,
        detailed_exitcodes: bool = False,
        lock_held: bool = False,
    ):
        """`preview`: an admin's look at another host; secrets this keyring cannot read become placeholders."""
        self.repo = repo
        self.settings = settings
        self.facts = facts
        self.host = host
        self.root = root
        self.noop = noop
        self.diffs = diffs
        self.tags = tags
        self.bundle = bundle
        self.preview = preview
        self.warn = warn
        self.bundle_time = bundle_time
        self.detailed_exitcodes = detailed_exitcodes
        self.lock_held = lock_held  # `tend run` holds the lock across pull and apply

    def run(
        self,
        *,
        wait: bool = False,
        stop: Callable[[], bool] = lambda: False,
        printer: Callable[[ResourceResult], None] | None = None,
    ) -> Report:
        paths = self.settings.state
        lock = None if self.lock_held else hold_lock(paths, wait=wait)
        try:
            started = datetime.now(UTC)
            run_id = ReportStore(paths.reports, self.settings.report_retention).next_run_id(started)
            report = Report(run_id, self.host, started, "noop" if self.noop else "apply", self.bundle)
            self._converge(report, stop, printer)
        finally:
            if lock is not None:
                lock.release()
        return report

    def _converge(self, report: Report, stop: Callable[[], bool], printer: Any) -> None:
        paths = self.settings.state
        clock = time_started = datetime.now(UTC)
        try:
            root = Root(self.root or Path("/"))
            system = System(root, None if self.noop else Bucket(paths.bucket))
            in_store = self.repo.resolve().is_relative_to(paths.bundles.resolve())
            refuse_private_keys(self.repo, bundle=self.bundle is not None or in_store)
            keys = _Once(lambda: load_repo_keys(self.repo))
            keyring = GnuPG(paths.gnupg)
            reader = HostSecrets(keyring, keys, self.host, placeholders=self.preview)
            try:
                catalog, _ = Compiler(self.repo, secrets=reader).compile(self.facts, self.host)
            finally:
                report.secrets_read = [read.to_json() for read in reader.reads]
                keyring.release()
            self._log_reads(report)
            for warning in catalog.warnings:
                self.warn(warning)
            report.timings["compile_s"] = (datetime.now(UTC) - time_started).total_seconds()
            state = RunState.load(paths.state_file, read_only=self.noop)
            if not self.noop:
                # Before any change: temps a killed run left in the state, and proof that the state can
                # still be written, so that a run never converges without a record of it.
                for directory in (paths.root, paths.reports, *sorted(paths.bucket.glob("??"))):
                    if directory.is_dir():
                        system.cleanup_stale_temps(directory)
                state.save()
            options = ProviderOptions(apt_options=configured_options(self.settings.apt, os.environ))
            runner = Runner(
                catalog, system, state, noop=self.noop, tags=self.tags, stop=stop,
                on_result=printer or (lambda result: None), diffs=self.diffs,
                providers=Providers(system, options, note=self.warn),
            )  # fmt: skip
            clock = datetime.now(UTC)
            runner.run(report)
            report.timings["apply_s"] = (datetime.now(UTC) - clock).total_seconds()
            # Checks probe the live host, so a converge into another root (an image) has none to run.
            if not self.noop and root.is_host and report.status is RunStatus.CHANGED and catalog.checks:
                clock = datetime.now(UTC)
                report.checks = [result.to_json() for result in run_checks(catalog.checks, system)]
                report.timings["checks_s"] = (datetime.now(UTC) - clock).total_seconds()
        except TendError as error:
            report.error = str(error)
        report.finished = datetime.now(UTC)
        report.timings["total_s"] = (report.finished - report.started).total_seconds()
        ReportStore(paths.reports, self.settings.report_retention).save(report.to_json(self.detailed_exitcodes))
        if not self.noop:
            self._log_run(report)
        if self.settings.metrics_file is not None and not self.noop:
            write_metrics(self.settings.metrics_file, report, bundle_time=self.bundle_time)

    def _log_run(self, report: Report) -> None:
        """A line per change (and failure) and one for the run, to syslog/journald; never a value."""
        from agent.reports.text import resource_line, summary
        from agent.system.syslog import send

        lines = [resource_line(result, colour=False) or "" for result in report.resources]
        commit = (self.bundle or {}).get("commit")
        ending = f"run {report.run_id}: {report.error}" if report.error else summary(report)
        send("tend", [*lines, ending + (f" (bundle {commit[:12]})" if commit else "")])

    def _log_reads(self, report: Report) -> None:
        """Every secret read goes to the hash-chained audit log (and syslog) before anything changes."""
        commit = (self.bundle or {}).get("commit")
        at = report.started.isoformat(timespec="seconds")
        entries = [
            {"time": at, "run_id": report.run_id, "host": self.host, "commit": commit, **read}
            for read in report.secrets_read
        ]
        to_syslog(AuditLog(self.settings.state.audit_log).append(entries))


def hold_lock(paths: Any, *, wait: bool) -> RunLock:
    """The run lock (one run at a time), taken in the state directory, created if need be."""
    lock = RunLock(paths.lock)
    try:
        paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock.acquire(wait=wait)
    except LockError:
        raise
    except OSError as error:
        raise HostError(f"cannot use the state directory: {error.strerror}", subject=str(paths.root)) from None
    return lock


class _Once:
    """A value computed at its first use, then kept."""

    def __init__(self, make: Callable[[], Any]):
        self.make = make
        self.value: Any = None

    def __call__(self) -> Any:
        if self.value is None:
            self.value = self.make()
        return self.value
