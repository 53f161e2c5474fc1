"""What every command shares: common options, the repository to use, the facts of this invocation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.errors import ConfigError


def add_repo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, help="control repository (default: . or the current bundle)")


def add_agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="agent configuration (default /etc/tend/agent.yaml)")
    parser.add_argument("--state-dir", type=Path, help="put every /var/lib/tend path under this directory")


def add_fact_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="compile as inventory host NAME (its facts from keys/inventory.yaml)")
    parser.add_argument("--fact", action="append", default=[], metavar="K=V", help="override a fact (repeatable)")


def settings_of(args: argparse.Namespace):
    from agent.settings import load_settings

    return load_settings(getattr(args, "config", None), state_dir=getattr(args, "state_dir", None))


def repo_of(args: argparse.Namespace, settings) -> Path:
    """--repo, else the current directory when it holds hiera.yaml, else the current bundle."""
    if getattr(args, "repo", None):
        repo = Path(args.repo)
        if not (repo / "hiera.yaml").is_file():
            raise ConfigError(f"{repo} is not a control repository (no hiera.yaml)")
        return repo.absolute()
    if Path("hiera.yaml").is_file():
        return Path.cwd()
    current = settings.state.bundles / "current"
    if (current / "hiera.yaml").is_file():
        return current.resolve()
    raise ConfigError(
        f"no control repository: give --repo DIR, run in a checkout, or pull a bundle ({current} is empty)"
    )


def facts_of(args: argparse.Namespace, settings, repo: Path | None) -> dict[str, Any]:
    """This invocation's facts: the machine, local facts, agent.yaml, the inventory under --host, --fact."""
    from agent.facts import gather_facts, load_local_facts, parse_fact_overrides, system_facts
    from agent.facts.node import pin_to_inventory
    from agent.repo.inventory import load_inventory

    host = getattr(args, "host", None)
    inventory = load_inventory(repo) if repo else None
    facts = gather_facts(
        system=system_facts(),
        local=load_local_facts(settings.facts_file, settings.facts_dir),
        config={"facts": dict(settings.facts)},
        inventory=inventory.facts_of(host) if host and inventory else None,
        host=host,
        overrides=parse_fact_overrides(getattr(args, "fact", [])),
    )
    own = str(facts.get("hostname", ""))
    if host is None and inventory is not None and own in inventory.hosts:
        facts, warnings = pin_to_inventory(facts, inventory.hosts[own], own)
        for warning in warnings:
            print(f"tend: warning: {warning}", file=sys.stderr)
    return facts


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_yaml(value: Any) -> None:
    import yaml

    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**6)
    sys.stdout.write(text)
