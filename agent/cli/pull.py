"""`tend pull` and `tend run`: deploy the signed tip of the configured branch, then (run) converge it."""

from __future__ import annotations

import argparse
import sys

from agent.cli import common


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


def run_pull(args: argparse.Namespace) -> int:
    from agent.bundles.pull import pull

    settings = common.settings_of(args)
    pulled = pull(settings)
    record = pulled.record
    verb = "deployed" if pulled.changed else "up to date at"
    print(f"{verb} {record.commit} (signed by {record.signer})")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from agent.bundles.pull import pull
    from agent.bundles.store import BundleStore
    from agent.errors import TendError

    settings = common.settings_of(args)
    pull_failed = False
    try:
        pulled = pull(settings)
        print(f"tend: {'deployed' if pulled.changed else 'up to date at'} {pulled.record.commit[:12]}", file=sys.stderr)
    except TendError as error:
        pull_failed = True
        print(f"tend: pull: {error}; applying the current bundle", file=sys.stderr)
    store = BundleStore(settings.state.bundles)
    commit = store.current_commit()
    if commit is None:
        print("tend: no bundle to apply: nothing has been pulled yet", file=sys.stderr)
        return 1
    record = store.record(commit)
    args.repo = store.path(commit)
    args.host, args.fact, args.plan, args.noop, args.tags, args.root = None, [], False, False, None, None
    from agent.cli import apply

    code = apply.run(args, bundle=record.to_report() if record else {"commit": commit, "signer": ""})
    return 1 if pull_failed and code == 0 else code
