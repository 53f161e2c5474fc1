"""`tend pull` and `tend run`: deploy the signed tip of the configured branch, then (run) converge it."""

from __future__ import annotations

import argparse
import sys

from agent.cli import apply, common


def register(commands: argparse._SubParsersAction) -> None:
    pull = commands.add_parser("pull", help="fetch, verify and switch to the signed tip of the branch")
    common.add_agent_options(pull)
    pull.set_defaults(run=run_pull)
    run = commands.add_parser("run", help="pull, then apply the current bundle (what the timer runs)")
    common.add_agent_options(run)
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument("--detailed-exitcodes", action="store_true", help="0 none, 2 changes, 4 failures, 6 both")
    run.add_argument("--wait", action="store_true", help="wait for a run in progress instead of failing")
    run.set_defaults(run=run_run)
    daemon = commands.add_parser("daemon", help="run on the configured interval and splay, until stopped")
    common.add_agent_options(daemon)
    daemon.set_defaults(run=run_daemon, json=False, detailed_exitcodes=False, wait=True)
    rollback = commands.add_parser("rollback", help="go back to the last good bundle (or --to SHA) and apply it")
    rollback.add_argument("--to", metavar="SHA", help="a commit of the configured source (verified like a pull)")
    common.add_agent_options(rollback)
    rollback.add_argument("--json", action="store_true", help="print the report as JSON")
    rollback.add_argument("--detailed-exitcodes", action="store_true", help="0 none, 2 changes, 4 failures, 6 both")
    rollback.add_argument("--wait", action="store_true", help="wait for a run in progress instead of failing")
    rollback.set_defaults(run=run_rollback)


def _locked(settings, wait: bool, action):
    """`action()` under the run lock: pulls, runs and rollbacks never interleave."""
    from agent.cli.converge import hold_lock

    lock = hold_lock(settings.state, wait=wait)
    try:
        return action()
    finally:
        lock.release()


def run_pull(args: argparse.Namespace) -> int:
    from agent.bundles.pull import pull

    settings = common.settings_of(args)
    pulled = _locked(settings, False, lambda: pull(settings))
    if pulled.note:
        print(f"tend: {pulled.note}", file=sys.stderr)
    record = pulled.record
    verb = "deployed" if pulled.changed else "up to date at"
    print(f"{verb} {record.commit} (signed by {record.signer})")
    return 0


def run_run(args: argparse.Namespace) -> int:
    code, _ = run_cycle(args)
    return code


def run_daemon(args: argparse.Namespace) -> int:
    from agent.daemon.loop import Daemon, Outcome

    def once() -> Outcome:
        from agent.errors import TendError

        try:
            code, signum = run_cycle(args)
        except TendError as error:
            print(f"tend: {error}", file=sys.stderr)
            code, signum = 1, 0
        return Outcome(code, signum)

    def timing() -> tuple[float, float]:
        settings = common.settings_of(args)
        return float(settings.interval_s), float(settings.splay_s)

    daemon = Daemon(once, timing, log=lambda text: print(f"tend: {text}", file=sys.stderr, flush=True))
    daemon.install_signals()
    return daemon.serve()


def run_cycle(args: argparse.Namespace) -> tuple[int, int]:
    """One timer run: pull, apply the current bundle, roll back on failed checks; (exit code, signal).

    The run lock is held from the pull to the last report, so an admin's pull or apply cannot
    switch or prune bundles under it."""
    settings = common.settings_of(args)
    return _locked(settings, args.wait, lambda: _cycle(args, settings))


def _cycle(args: argparse.Namespace, settings) -> tuple[int, int]:
    from agent.bundles.pull import pull
    from agent.bundles.store import BundleStore
    from agent.errors import TendError

    pull_failed = False
    try:
        pulled = pull(settings)
        if pulled.note:
            print(f"tend: {pulled.note}", file=sys.stderr)
        print(f"tend: {'deployed' if pulled.changed else 'up to date at'} {pulled.record.commit[:12]}", file=sys.stderr)
    except TendError as error:
        pull_failed = True
        print(f"tend: pull: {error}; applying the current bundle", file=sys.stderr)
    store = BundleStore(settings.state.bundles)
    try:
        commit = _bundle_to_apply(store)
    except TendError as error:
        print(f"tend: {error}", file=sys.stderr)
        return 1, 0
    if commit is None:
        print("tend: no bundle to apply: nothing has been pulled yet", file=sys.stderr)
        return 1, 0
    args.host, args.fact, args.plan, args.noop, args.tags, args.root = None, [], False, False, None, None
    record = store.record(commit)
    new_bundle = record is None or record.good is None  # it has never converged cleanly here
    report, stop = _apply_bundle(args, store, commit)
    code = apply.exit_code(report, stop, args.detailed_exitcodes)
    if report.checks_failed and new_bundle and not report.interrupted:
        code = _roll_back(args, store, commit) or code
    elif report.exit_code() == 0:
        store.mark_good(commit)
    return (1 if pull_failed and code == 0 else code), stop.signal


def _bundle_to_apply(store) -> str | None:
    """The current bundle, checked; when it is broken or damaged, restored (or the last good one), said."""
    from agent.bundles.pull import restore

    commit = store.current_commit()
    if commit is not None and store.intact(commit):
        return commit
    if commit is not None:
        restore(store, commit)
        print(f"tend: bundle {commit[:12]} was damaged on disk: checked out again from the mirror", file=sys.stderr)
        return commit
    candidates = [r.commit for r in reversed(store.history()) if not r.bad]
    good = store.last_good() or (candidates[0] if candidates else None)
    if good is None:
        return None
    if not store.intact(good):
        restore(store, good)
    store.switch(good)
    print(f"tend: bundles/current pointed nowhere: restored {good[:12]}, the last good bundle", file=sys.stderr)
    return good


def _apply_bundle(args: argparse.Namespace, store, commit: str):
    from datetime import datetime

    record = store.record(commit)
    bundle = record.to_report() if record else {"commit": commit, "signer": ""}
    pulled = datetime.fromisoformat(record.pulled) if record else None
    return apply.converge(args, repo=store.path(commit), bundle=bundle, bundle_time=pulled, lock_held=True)


def _roll_back(args: argparse.Namespace, store, bad: str) -> int:
    """A smoke check failed after this bundle: mark it bad, re-apply the last good one, report both."""
    store.mark_bad(bad, "its smoke checks failed")
    good = store.last_good(exclude=bad)
    if good is None:
        print(f"tend: smoke checks failed after {bad[:12]} and no earlier good bundle is kept", file=sys.stderr)
        return 1
    print(f"tend: smoke checks failed after {bad[:12]}: rolling back to {good[:12]}", file=sys.stderr)
    store.switch(good)
    report, _ = _apply_bundle(args, store, good)
    if report.exit_code() == 0:
        store.mark_good(good)
    return 1


def run_rollback(args: argparse.Namespace) -> int:
    """An admin's way back: the current commit is marked bad (not pulled again until a newer one)."""
    settings = common.settings_of(args)
    return _locked(settings, args.wait, lambda: _rollback(args, settings))


def _rollback(args: argparse.Namespace, settings) -> int:
    from agent.bundles.git import git
    from agent.bundles.pull import pull
    from agent.bundles.store import BundleStore
    from agent.errors import TendError

    store = BundleStore(settings.state.bundles)
    current = store.current_commit()
    if args.to:
        target = git(["rev-parse", "--verify", f"{args.to}^{{commit}}"], git_dir=store.mirror, check=False)
        if not target.ok:
            raise TendError(f"rollback: {args.to} is not a commit of the pulled source")
        commit = target.stdout.decode().strip()
        if store.record(commit) is None or not (store.path(commit) / "hiera.yaml").is_file():
            pull(settings, allow_older=commit)  # verified like any pull, then checked out
    else:
        commit = store.last_good(exclude=current)
        if commit is None:
            raise TendError("rollback: no earlier good bundle is kept; give --to SHA")
    if current and current != commit:
        store.mark_bad(current, "an admin rolled back from it")
    store.switch(commit)
    print(f"tend: rolled back to {commit[:12]}" + (f" from {current[:12]}" if current else ""), file=sys.stderr)
    args.host, args.fact, args.plan, args.noop, args.tags, args.root = None, [], False, False, None, None
    report, stop = _apply_bundle(args, store, commit)
    code = apply.exit_code(report, stop, args.detailed_exitcodes)
    if report.exit_code() == 0:
        store.mark_good(commit)
    return code
