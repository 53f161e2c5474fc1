"""The timer's cycle and an admin's rollback: choose the bundle (pull, restore, switch), converge it, judge it.

Each holds the run lock from the pull to the last report, so an admin's pull or apply cannot switch or
prune bundles under it. A new bundle that cannot start for a fault of its own (§8.2), whose smoke checks
fail, or (with `rollback_on: [failures]`) whose resources fail, is marked bad and the last good one is
converged again; the run then exits as that converge did, because the host is healthy and the commit is
not. A bundle that converged cleanly is marked good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from agent.bundles.git import git
from agent.bundles.pull import Pulled, pull, restore
from agent.bundles.store import BundleRecord, BundleStore
from agent.errors import CommitRefused, ConfigError, DataError, TendError
from agent.reports.model import Report
from agent.run.converge import Converged, converge
from agent.run.lock import locked
from agent.run.notify import SILENT, Notifier
from agent.run.request import ConvergeRequest, CycleRequest, RollbackRequest, gather_run_facts
from agent.run.stage import StageGate
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
    """`tend pull`: deploy the signed tip of the configured branch (or the release its stage follows),
    under the run lock; any refusal is raised."""
    return locked(settings, False, lambda: pull(settings, gate=StageGate(settings)))


def run_cycle(settings: AgentSettings, request: CycleRequest, notify: Notifier = SILENT) -> CycleOutcome:
    """One timer run: pull, converge the current bundle, roll back after failed checks of a new one."""
    return locked(settings, request.wait, lambda: _cycle(settings, request, notify))


def _cycle(settings: AgentSettings, request: CycleRequest, notify: Notifier) -> CycleOutcome:
    # One read of the bundle gives its digest (checked in the pull and again here) and the private-key scan.
    store = BundleStore(settings.state.bundles, scan=contains_private_key)
    host_fault, refused = _pull_for_run(settings, notify, store)
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
        pending = _noop_outside_windows(settings, store, commit, request.detailed_exitcodes, notify, refused)
        return replace(pending, exit_code=1) if host_fault and pending.exit_code == 0 else pending
    first = _converge_bundle(settings, store, commit, request.detailed_exitcodes, notify, refused=refused)
    reports = [first.report]
    code = first.exit_code(request.detailed_exitcodes)
    why = _rollback_reason(settings, first) if new_bundle and not first.report.interrupted else None
    if why is not None:
        kept = _roll_back(settings, store, commit, why, request.detailed_exitcodes, notify)
        if kept is not None:
            reports.append(kept.report)
            code = kept.exit_code(request.detailed_exitcodes)
    elif first.report.exit_code() == 0:
        store.mark_good(commit, (first.report.bundle or {}).get("converged_since"))
    return CycleOutcome(1 if host_fault and code == 0 else code, first.signal, tuple(reports))


def _pull_for_run(settings: AgentSettings, notify: Notifier, store: BundleStore) -> tuple[bool, dict[str, str] | None]:
    """The run's pull: (True when the host itself failed it, the refused commit for the report). A commit
    refused (its signature, its ancestry, its stage, marked bad) leaves the exit code to the converge of the
    bundle kept; a host fault (fetch, keyring, disk, facts) makes the run exit 1 after that converge."""
    try:
        pulled = pull(settings, gate=StageGate(settings), store=store)
    except CommitRefused as refusal:
        notify.warning(f"pull: {refusal}; applying the current bundle")
        return False, {"commit": refusal.commit, "reason": refusal.message} if refusal.commit else None
    except TendError as error:
        notify.note(f"pull: {error}; applying the current bundle")
        return True, None
    if pulled.note:
        notify.note(pulled.note)
    notify.note(f"{'deployed' if pulled.changed else 'up to date at'} {pulled.record.commit[:12]}")
    return False, None


@dataclass(frozen=True, slots=True)
class _Why:
    """Why a new bundle goes back: what the operator reads, and the reason recorded and reported."""

    what: str
    reason: str


def _rollback_reason(settings: AgentSettings, done: Converged) -> _Why | None:
    """A new bundle's first converge that sends it back to the last good one (§5, §8.2), or None."""
    report = done.report
    if done.commit_fault:
        return _Why("the commit cannot be applied", f"it cannot be applied on this host: {report.error}")
    if report.checks_failed and "checks" in settings.rollback_on:
        return _Why("smoke checks failed", f"its smoke checks failed (run {report.run_id})")
    failed = sorted(r.id for r in report.resources if str(r.status) == "failed")
    if failed and "failures" in settings.rollback_on:
        shown = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        return _Why("resources failed", f"{len(failed)} resource(s) failed (run {report.run_id}): {shown}")
    return None


def run_correction(
    settings: AgentSettings, only: frozenset[str], at: datetime | None, notify: Notifier = SILENT
) -> CycleOutcome:
    """A watch correction: the current bundle converged again for the resources `only` (and what their
    changes refresh), without a pull, under the run lock; noop outside the run windows. Its report (mode
    `watch`) is stored beside last_run.json, never over it (§8.1)."""
    return locked(settings, True, lambda: _correction(settings, only, at, notify))


def _correction(settings: AgentSettings, only: frozenset[str], at: datetime | None, notify: Notifier) -> CycleOutcome:
    store = BundleStore(settings.state.bundles)
    commit = store.current_commit()
    if commit is None or not store.intact(commit):
        notify.note("no intact current bundle to correct from: the next timed run restores it")
        return CycleOutcome(1)
    noop = outside_windows(settings, at, notify)
    done = _converge_bundle(settings, store, commit, False, notify, noop=noop, only=only)
    return CycleOutcome(done.exit_code(), done.signal, (done.report,))


def _noop_outside_windows(
    settings: AgentSettings,
    store: BundleStore,
    commit: str,
    detailed: bool,
    notify: Notifier,
    refused: dict[str, str] | None,
) -> CycleOutcome:
    """Outside the run windows: a noop converge of the current bundle, reporting what is pending (and any
    commit the pull refused); no checks, no verdict on the bundle."""
    done = _converge_bundle(settings, store, commit, detailed, notify, noop=True, refused=refused)
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
    settings: AgentSettings, store: BundleStore, bad: str, why: _Why, detailed: bool, notify: Notifier
) -> Converged | None:
    """The new bundle `bad` failed as `why` says: mark it bad and converge the last good one, whose report
    names the refused commit (None when no good bundle is kept)."""
    store.mark_bad(bad, why.reason)
    good = store.last_good(exclude=bad)
    if good is None:
        notify.note(f"{why.what} after {bad[:12]} and no earlier good bundle is kept")
        return None
    notify.warning(f"{why.what} after {bad[:12]}: rolling back to {good[:12]} ({why.reason})")
    store.switch(good)
    kept = _converge_bundle(settings, store, good, detailed, notify, refused={"commit": bad, "reason": why.reason})
    if kept.report.exit_code() == 0:
        store.mark_good(good, (kept.report.bundle or {}).get("converged_since"))
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
        store.mark_good(commit, (done.report.bundle or {}).get("converged_since"))
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
    only: frozenset[str] | None = None,
) -> Converged:
    """A full converge of a deployed bundle as this host (the caller holds the run lock)."""
    record = store.record(commit)
    bundle: dict[str, Any] = record.to_report() if record else {"commit": commit, "signer": ""}
    if refused is not None:
        bundle["refused"] = dict(refused)
    repo = store.path(commit)
    try:
        facts = gather_run_facts(settings, repo, warn=notify.warning)
    except (ConfigError, DataError):
        # The bundle's inventory fails its schema: the converge refuses it as the commit's fault, with
        # file:line. Facts the host itself cannot gather fail again here: a host fault.
        facts = gather_run_facts(settings, None, warn=notify.warning)
    request = ConvergeRequest(
        repo,
        host=str(facts.get("hostname", "")),
        facts=facts,
        noop=noop,
        detailed_exitcodes=detailed,
        bundle=bundle,
        only=only,
        private_keys=_flagged(store, commit),
        tree=_verified_tree(store, record),
    )
    return converge(settings, request, notify, lock_held=True)


def _verified_tree(store: BundleStore, record: BundleRecord | None) -> str | None:
    """The bundle's tree digest for the compile cache, when its content is the one recorded at the pull."""
    if record is None or not record.tree or store.digest(record.commit) != record.tree:
        return None
    return f"bundle:{record.tree}"


def _flagged(store: BundleStore, commit: str) -> tuple[str, ...] | None:
    """What the store's read of the bundle found of private keys, when it read it whole; None: not read."""
    flagged = store.flagged(commit)
    return None if flagged is None else tuple(flagged)
