"""`tend apply` and `tend plan`: compile this host's catalog, converge it (or preview it), report."""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    for name, noop in (("apply", False), ("plan", True)):
        helptext = "converge this host to its catalog" if not noop else "show what apply would change, with diffs"
        parser = commands.add_parser(name, help=helptext)
        common.add_repo_options(parser)
        common.add_agent_options(parser)
        common.add_cache_option(parser)
        common.add_fact_options(parser)
        if not noop:
            parser.add_argument("--noop", action="store_true", help="change nothing; report what would change")
        parser.add_argument("--root", type=Path, help="treat DIR as the filesystem root")
        parser.add_argument("--tags", help="only resources with one of these tags (comma-separated)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--detailed-exitcodes", action="store_true", help="0 none, 2 changes, 4 failures, 6 both")
        parser.add_argument("--wait", action="store_true", help="wait for a run in progress instead of failing")
        parser.set_defaults(run=run, plan=noop)


def run(args: argparse.Namespace) -> int:
    """Parse into a request, converge, print the report (lines as they come, or JSON), exit as it says."""
    from agent.run.converge import compile_cache, converge
    from agent.run.request import ConvergeRequest, parse_tags

    noop = args.plan or args.noop
    settings = common.settings_of(args)
    repo = common.repo_of(args, settings)
    facts = common.facts_of(args, settings, repo, cache=compile_cache(settings, noop=noop))
    request = ConvergeRequest(
        repo,
        host=args.host or str(facts.get("hostname", "")),
        facts=facts,
        root=args.root,
        noop=noop,
        diffs=args.plan,
        tags=parse_tags(args.tags),
        detailed_exitcodes=args.detailed_exitcodes,
        wait=args.wait,
        preview=noop and args.host is not None,
    )
    done = converge(settings, request, common.run_notifier(json_output=args.json, diffs=args.plan))
    if args.json:
        common.print_json(done.report.to_json(args.detailed_exitcodes))
    return done.exit_code(args.detailed_exitcodes)
