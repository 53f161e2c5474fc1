"""What every command shares: common options, the repository to use, the facts of this invocation."""

from __future__ import annotations

import argparse
import json
import os
import pwd
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.catalog.cache import CompileCache
    from agent.reports.model import Report, ResourceResult
    from agent.run.notify import Notifier
    from agent.settings import AgentSettings


def add_repo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, help="control repository (default: . or the current bundle)")


def add_agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="agent configuration (default /etc/tend/agent.yaml)")
    parser.add_argument("--state-dir", type=Path, help="put every /var/lib/tend path under this directory")


def add_fact_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="compile as inventory host NAME (its facts from keys/inventory.yaml)")
    parser.add_argument("--fact", action="append", default=[], metavar="K=V", help="override a fact (repeatable)")


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true", help="compile afresh; neither use nor keep a cached compile")


def settings_of(args: argparse.Namespace) -> AgentSettings:
    from dataclasses import replace

    from agent.settings import load_settings

    settings = load_settings(getattr(args, "config", None), state_dir=getattr(args, "state_dir", None))
    return replace(settings, compile_cache=False) if getattr(args, "no_cache", False) else settings


def repo_of(args: argparse.Namespace, settings: AgentSettings) -> Path:
    """--repo, else the current directory when it holds hiera.yaml (as root: only a directory root owns and
    nobody else can write), else the current bundle."""
    if getattr(args, "repo", None):
        repo = Path(args.repo)
        if not (repo / "hiera.yaml").is_file():
            raise ConfigError(f"{repo} is not a control repository (no hiera.yaml)")
        return repo.absolute()
    if Path("hiera.yaml").is_file():
        _refuse_foreign_directory(Path.cwd())
        return Path.cwd()
    current = settings.state.bundles / "current"
    if (current / "hiera.yaml").is_file():
        return current.resolve()
    raise ConfigError(
        f"no control repository: give --repo DIR, run in a checkout, or pull a bundle ({current} is empty)"
    )


def _refuse_foreign_directory(directory: Path) -> None:
    """As root, a directory that another user owns or may write is applied only when named (DESIGN §8.6):
    whoever controls it would otherwise choose what root applies, unsigned."""
    if os.geteuid() != 0:
        return
    status = directory.stat()
    if status.st_uid != 0:
        owner = _user_name(status.st_uid)
        raise ConfigError(f"{directory} is owned by {owner}, not root: give --repo {directory} to apply it as root")
    if status.st_mode & 0o022:
        raise ConfigError(
            f"{directory} is writable by group or others (mode {stat.S_IMODE(status.st_mode):04o}): "
            f"give --repo {directory} to apply it as root"
        )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def facts_of(
    args: argparse.Namespace, settings: AgentSettings, repo: Path | None, *, cache: CompileCache | None = None
) -> Mapping[str, Any]:
    """This invocation's facts: the machine, local facts, agent.yaml, the inventory under --host (kept in
    `cache`, the compile cache, when given), --fact."""
    from agent.facts import parse_fact_overrides
    from agent.run.request import gather_run_facts

    overrides = parse_fact_overrides(getattr(args, "fact", []))
    return gather_run_facts(
        settings,
        repo,
        host=getattr(args, "host", None),
        overrides=overrides,
        warn=lambda text: print(f"tend: warning: {text}", file=sys.stderr),
        cache=cache,
    )


def run_notifier(*, json_output: bool, diffs: bool = False) -> Notifier:
    """A run shown on the terminal: a line per resource worth it as it ends (with its diff in plan),
    notes and warnings on stderr, and after each converge its error, or its checks and summary."""
    from agent.reports.text import check_lines, diff_block, resource_line, summary
    from agent.run.notify import Notifier

    colour = sys.stdout.isatty() and not json_output

    def result(done: ResourceResult) -> None:
        line = resource_line(done, colour)
        if line:
            print(line, flush=True)
            if diffs:
                sys.stdout.write(diff_block(done))

    def converged(report: Report) -> None:
        if report.error:
            print(f"tend: {report.error}", file=sys.stderr)
        elif not json_output:
            for line in check_lines(report):
                print(line)
            print(summary(report))

    return Notifier(
        warning=lambda text: print(f"tend: warning: {text}", file=sys.stderr),
        note=lambda text: print(f"tend: {text}", file=sys.stderr, flush=True),
        result=(lambda done: None) if json_output else result,
        converged=converged,
    )


def _warn(text: str) -> None:
    print(f"tend: warning: {text}", file=sys.stderr)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_yaml(value: Any) -> None:
    import yaml

    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**6)
    sys.stdout.write(text)
