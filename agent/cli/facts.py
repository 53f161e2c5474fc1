"""`tend facts`: prints this host's facts (with --host, an inventory host's) as YAML or JSON."""

from __future__ import annotations

import argparse

from agent.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("facts", help="print the facts of this host")
    common.add_repo_options(parser)
    common.add_agent_options(parser)
    common.add_fact_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = common.settings_of(args)
    repo = common.repo_of(args, settings) if args.host else None
    facts = common.facts_of(args, settings, repo)
    (common.print_json if args.json else common.print_yaml)(dict(facts))
    return 0
