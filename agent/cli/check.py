"""`tend check`: compiles the catalog of every inventory host, a line each; exit 1 on any error (repo CI)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("check", help="compile every inventory host's catalog")
    common.add_repo_options(parser)
    common.add_agent_options(parser)
    parser.add_argument(
        "--strict", action="store_true", help="fail on a key written twice in a data file (else a warning)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agent.catalog.compile import Compiler
    from agent.data.hiera import Hiera
    from agent.errors import TendError
    from agent.facts import system_facts
    from agent.repo.inventory import load_inventory
    from agent.secrets.repo_keys import refuse_private_keys
    from agent.secrets.secret import placeholder

    settings = common.settings_of(args)
    repo = common.repo_of(args, settings)
    refuse_private_keys(repo)
    inventory = load_inventory(repo)
    if not inventory.hosts:
        print(f"tend: {repo}/keys/inventory.yaml lists no hosts: nothing to check", file=sys.stderr)
        return 1
    hiera = Hiera(repo, strict=args.strict)
    compiler = Compiler(repo, hiera, secrets=lambda value: placeholder(value.file, value.key))
    machine = system_facts()
    failures = 0
    for host in sorted(inventory.hosts):
        try:
            facts = inventory.host_facts(host, machine)
            catalog, _ = compiler.compile(facts, host)
        except TendError as error:
            failures += 1
            print(f"FAIL {host}: {error}")
            continue
        print(f"ok   {host}: {len(catalog.resources)} resources, classes {', '.join(catalog.classes) or 'none'}")
    for warning in hiera.store.warnings:
        print(f"tend: warning: {warning}", file=sys.stderr)
    print(f"{len(inventory.hosts) - failures} of {len(inventory.hosts)} hosts compile")
    return 1 if _pipeline_problems(repo) or failures else 0


def _pipeline_problems(repo: Path) -> int:
    """pipeline.yaml against the inventory (§8.3): a host in no stage, a stage with no host; each on stderr."""
    from agent.errors import TendError
    from agent.pipeline.model import inventory_problems, load_pipeline

    try:
        pipeline = load_pipeline(repo)
    except TendError as error:
        print(f"tend: {error}", file=sys.stderr)
        return 1
    problems = inventory_problems(pipeline, repo) if pipeline is not None else []
    for problem in problems:
        print(f"tend: {problem}", file=sys.stderr)
    return len(problems)
