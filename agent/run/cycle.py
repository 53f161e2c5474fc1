"""The timer's cycle and an admin's rollback: choose the bundle (pull, restore, switch), converge it, judge it.

Each holds the run lock from the pull to the last report, so an admin's pull or apply cannot switch or
prune bundles under it. A new bundle whose smoke checks fail is marked bad and the last good one is
converged again; a bundle that converged cleanly is marked good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.bundles.git import git
from agent.bundles.pull import Pulled, pull, restore
from agent.bundles.store import BundleStore
from agent.errors import TendError
from agent.reports.model import Report
from agent.run.converge import Converged, converge
from agent.run.lock import locked
from agent.run.notify import SILENT, Notifier
from agent.run.request import ConvergeRequest, CycleRequest, RollbackRequest, gather_run_facts
from agent.run.windows import outside_windows, say_pending
from agent.secrets.packets import contains_private_key
from agent.settings import AgentSettings


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """The exit code, the signal that interrupted the run (0: none), and the reports in the order made."""

    exit_code: int
    signal: int = 0
    reports: tuple[Report, ...] = ()

    @property
    def report(self) -> Report | None:
        """The report of the bundle the host was left on (after a rollback, the good one's)."""
        return self.reports[-1] if self.reports else None


def pull_bundle(settings: AgentSettings) -> Pulled:
    """`tend pull`: deploy the signed tip of the configured branch, under the run lock."""
    return locked(settings, False, lambda: pull(settings))


def run_cycle(settings: AgentSettings, request: CycleRequest, notify: Notifier = SILENT) -> CycleOutcome:
    """One timer run: pull, converge the current bundle, roll back after failed checks of a new one."""
    return locked(settings, request.wait, lambda: _cycle(settings, request, notify))


def _cycle(settings: AgentSettings, request: CycleRequest, notify: Notifier) -> CycleOutcome:
    pull_failed = False
    # One read of the bundle gives its digest (checked in the pull and again here) and the private-key scan.
    store = BundleStore(settings.state.bundles, scan=contains_private_key)
    try:
        pulled = pull(settings, store=store)
        if pulled.note:
            notify.note(pulled.note)
        notify.note(f"{'deployed' if pulled.changed else 'up to date at'} {pulled.record.commit[:12]}")
    except TendError as error:
        pull_failed = True
        notify.note(f"pull: {error}; applying the current bundle")
    try:
        commit = _bundle_to_apply(store, notify)
    except TendError as error:
        notify.note(str(error))
        return CycleOutcome(1)
    if commit is None:
        notify.note("no bundle to apply: nothing has been pulled yet")
        return CycleOutcome(1)
    record = store.record(commit)
    new_bundle = record is None or record.good is None  # it has never converged cleanly here
    if outside_windows(settings, request.at, notify):
        return _noop_outside_windows(settings, store, commit, request.detailed_exitcodes, notify)
    first = _converge_bundle(settings, store, commit, request.detailed_exitcodes, notify)
    reports = [first.report]
    code = first.exit_code(request.detailed_exitcodes)
    if first.report.checks_failed and new_bundle and not first.report.interrupted:
        kept = _roll_back(settings, store, commit, first.report.run_id, request.detailed_exitcodes, notify)
        reports += [kept.report] if kept else []
        code = 1
    elif first.report.exit_code() == 0:
        store.mark_good(commit)
    return CycleOutcome(1 if pull_failed and code == 0 else code, first.signal, tuple(reports))


def _noop_outside_windows(
    settings: AgentSettings, store: BundleStore, commit: str, detailed: bool, notify: Notifier
) -> CycleOutcome:
    """Outside the run windows: a noop converge of the current bundle, reporting what is pending; no checks,
    no verdict on the bundle."""
    done = _converge_bundle(settings, store, commit, detailed, notify, noop=True)
    say_pending(done.report, notify)
    return CycleOutcome(done.exit_code(detailed), done.signal, (done.report,))


def _bundle_to_apply(store: BundleStore, notify: Notifier) -> str | None:
    """The current bundle, checked; when it is broken or damaged, restored (or the last good one), said."""
    commit = store.current_commit()
    if commit is not None and store.intact(commit):
        return commit
    if commit is not None:
        restore(store, commit)
        notify.note(f"bundle {commit[:12]} was damaged on disk: checked out again from the mirror")
        return commit
    candidates = [r.commit for r in reversed(store.history()) if not r.bad]
    good = store.last_good() or (candidates[0] if candidates else None)
    if good is None:
        return None
    if not store.intact(good):
        restore(store, good)
    store.switch(good)
    notify.note(f"bundles/current pointed nowhere: restored {good[:12]}, the last good bundle")
    return good


def _roll_back(
    settings: AgentSettings, store: BundleStore, bad: str, failed_run: str, detailed: bool, notify: Notifier
) -> Converged | None:
    """Smoke checks failed in run `failed_run` of the new bundle `bad`: mark it bad and converge the last
    good one, whose report names the refused commit (None when no good bundle is kept)."""
    store.mark_bad(bad, "its smoke checks failed")
    good = store.last_good(exclude=bad)
    if good is None:
        notify.note(f"smoke checks failed after {bad[:12]} and no earlier good bundle is kept")
        return None
    notify.note(f"smoke checks failed after {bad[:12]}: rolling back to {good[:12]}")
    store.switch(good)
    refused = {"commit": bad, "reason": f"its smoke checks failed (run {failed_run})"}
    kept = _converge_bundle(settings, store, good, detailed, notify, refused=refused)
    if kept.report.exit_code() == 0:
        store.mark_good(good)
    return kept


def roll_back(settings: AgentSettings, request: RollbackRequest, notify: Notifier = SILENT) -> CycleOutcome:
    """`tend rollback`: the current commit is marked bad (not pulled again until a newer one), and the
    last good bundle, or the commit `request.to` (verified like a pull), is switched to and converged."""
    return locked(settings, request.wait, lambda: _rollback(settings, request, notify))


def _rollback(settings: AgentSettings, request: RollbackRequest, notify: Notifier) -> CycleOutcome:
    store = BundleStore(settings.state.bundles)
    current = store.current_commit()
    if request.to:
        target = git(["rev-parse", "--verify", f"{request.to}^{{commit}}"], git_dir=store.mirror, check=False)
        if not target.ok:
            raise TendError(f"rollback: {request.to} is not a commit of the pulled source")
        commit = target.stdout.decode().strip()
        if store.record(commit) is None or not (store.path(commit) / "hiera.yaml").is_file():
            pull(settings, allow_older=commit)  # verified like any pull, then checked out
    else:
        found = store.last_good(exclude=current)
        if found is None:
            raise TendError("rollback: no earlier good bundle is kept; give --to SHA")
        commit = found
    if current and current != commit:
        store.mark_bad(current, "an admin rolled back from it")
    store.switch(commit)
    notify.note(f"rolled back to {commit[:12]}" + (f" from {current[:12]}" if current else ""))
    done = _converge_bundle(settings, store, commit, request.detailed_exitcodes, notify)
    if done.report.exit_code() == 0:
        store.mark_good(commit)
    return CycleOutcome(done.exit_code(request.detailed_exitcodes), done.signal, (done.report,))


def _converge_bundle(
    settings: AgentSettings,
    store: BundleStore,
    commit: str,
    detailed: bool,
    notify: Notifier,
    *,
    refused: Mapping[str, str] | None = None,
    noop: bool = False,
) -> Converged:
    """A full converge of a deployed bundle as this host (the caller holds the run lock)."""
    record = store.record(commit)
    bundle: dict[str, Any] = record.to_report() if record else {"commit": commit, "signer": ""}
    if refused is not None:
        bundle["refused"] = dict(refused)
    repo = store.path(commit)
    facts = gather_run_facts(settings, repo, warn=notify.warning)
    request = ConvergeRequest(
        repo,
        host=str(facts.get("hostname", "")),
        facts=facts,
        noop=noop,
        detailed_exitcodes=detailed,
        bundle=bundle,
        bundle_time=datetime.fromisoformat(record.pulled) if record else None,
        private_keys=_flagged(store, commit),
    )
    return converge(settings, request, notify, lock_held=True)


def _flagged(store: BundleStore, commit: str) -> tuple[str, ...] | None:
    """What the store's read of the bundle found of private keys, when it read it whole; None: not read."""
    flagged = store.flagged(commit)
    return None if flagged is None else tuple(flagged)
