"""`tend pull` and `tend run`: deploy the signed tip of the configured branch, then (run) converge it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from agent.cli import common

if TYPE_CHECKING:
    from agent.run.cycle import CycleOutcome


def register(commands: argparse._SubParsersAction) -> None:
    pull = commands.add_parser("pull", help="fetch, verify and switch to the signed tip of the branch")
    common.add_agent_options(pull)
    pull.set_defaults(run=run_pull)
    run = commands.add_parser("run", help="pull, then apply the current bundle (what the timer runs)")
    common.add_agent_options(run)
    common.add_cache_option(run)
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument("--detailed-exitcodes", action="store_true", help="0 none, 2 changes, 4 failures, 6 both")
    run.add_argument("--wait", action="store_true", help="wait for a run in progress instead of failing")
    run.set_defaults(run=run_run)
    daemon = commands.add_parser("daemon", help="run on the configured interval and splay, until stopped")
    common.add_agent_options(daemon)
    daemon.add_argument("--watch", action="store_true", help="also correct managed files changed behind tend's back")
    daemon.set_defaults(run=run_daemon, json=False, detailed_exitcodes=False, wait=True)
    rollback = commands.add_parser("rollback", help="go back to the last good bundle (or --to SHA) and apply it")
    rollback.add_argument("--to", metavar="SHA", help="a commit of the configured source (verified like a pull)")
    common.add_agent_options(rollback)
    common.add_cache_option(rollback)
    rollback.add_argument("--json", action="store_true", help="print the report as JSON")
    rollback.add_argument("--detailed-exitcodes", action="store_true", help="0 none, 2 changes, 4 failures, 6 both")
    rollback.add_argument("--wait", action="store_true", help="wait for a run in progress instead of failing")
    rollback.set_defaults(run=run_rollback)


def run_pull(args: argparse.Namespace) -> int:
    from agent.run.cycle import pull_bundle

    pulled = pull_bundle(common.settings_of(args))
    if pulled.note:
        print(f"tend: {pulled.note}", file=sys.stderr)
    record = pulled.record
    verb = "deployed" if pulled.changed else "up to date at"
    print(f"{verb} {record.commit} (signed by {record.signer})")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from agent.run.cycle import run_cycle
    from agent.run.request import CycleRequest

    request = CycleRequest(detailed_exitcodes=args.detailed_exitcodes, wait=args.wait)
    return _shown(args, run_cycle(common.settings_of(args), request, common.run_notifier(json_output=args.json)))


def run_daemon(args: argparse.Namespace) -> int:
    from agent.daemon.loop import serve_cycles

    return serve_cycles(lambda: common.settings_of(args), common.run_notifier(json_output=False), watch=args.watch)


def run_rollback(args: argparse.Namespace) -> int:
    from agent.run.cycle import roll_back
    from agent.run.request import RollbackRequest

    request = RollbackRequest(to=args.to, detailed_exitcodes=args.detailed_exitcodes, wait=args.wait)
    return _shown(args, roll_back(common.settings_of(args), request, common.run_notifier(json_output=args.json)))


def _shown(args: argparse.Namespace, outcome: CycleOutcome) -> int:
    """With --json, one document: the report of the bundle the host was left on (after a refusal or an
    automatic rollback, the kept bundle's, whose `bundle.refused` names the commit and why)."""
    if args.json and outcome.report is not None:
        common.print_json(outcome.report.to_json(args.detailed_exitcodes))
    return outcome.exit_code
