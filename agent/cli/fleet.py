"""`tend fleet`: every inventory host's stage, commit, release, last run and health, from fleet evidence."""

from __future__ import annotations

import argparse
import sys

from agent.cli import common
from agent.cli.promote import add_evidence_options, evidence_context


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("fleet", help="every inventory host: stage, commit, last run, failed or stale")
    common.add_repo_options(parser)
    common.add_agent_options(parser)
    add_evidence_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agent.pipeline import admin, fleetview

    with evidence_context(args) as (repo, settings, keyring, now):
        rows, warnings = admin.fleet_view(
            repo, settings, evidence=args.evidence, extra_trusted=args.trusted_signer, keyring=keyring,
            branch=args.branch, now=now,
        )  # fmt: skip
    for warning in warnings:
        print(f"tend: warning: {warning}", file=sys.stderr)
    if args.format == "json":
        common.print_json(fleetview.to_json(rows))
    else:
        sys.stdout.write(fleetview.table(rows, now))
    return 1 if any(row.bad for row in rows) else 0
