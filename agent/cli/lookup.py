"""`tend lookup KEY`: a Hiera lookup for this host (or --host), with --explain showing how it was found."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli import common

if TYPE_CHECKING:
    from agent.data.explain import LookupTrace
    from agent.secrets.reader import HostSecrets
    from agent.settings import AgentSettings


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("lookup", help="look a key up in the hierarchy")
    parser.add_argument("key")
    parser.add_argument("--merge", choices=["first", "unique", "hash", "deep"], help="merge behaviour")
    parser.add_argument("--knock-out-prefix", metavar="P", help="deep merge: prefix that removes lower values")
    parser.add_argument("--sort-merged-arrays", action="store_true", help="deep merge: sort merged arrays")
    parser.add_argument("--merge-hash-arrays", action="store_true", help="deep merge: merge hashes inside arrays")
    parser.add_argument("--explain", action="store_true", help="show every level and path tried")
    parser.add_argument("--json", action="store_true", help="print the value (or the explanation) as JSON")
    parser.add_argument(
        "--reveal", action="store_true", help="decrypt secret values with your key (GNUPGHOME, else the agent's)"
    )
    common.add_repo_options(parser)
    common.add_agent_options(parser)
    common.add_fact_options(parser)
    parser.set_defaults(run=run)


KNOCKOUT = "--knock-out-prefix"


def take_knockout(argv: list[str]) -> tuple[list[str], str | None]:
    """`tend lookup`'s --knock-out-prefix P taken out of argv before argparse, which would read a `--`
    prefix (the one in Puppet's docs) as the end of the options, or drop it from `--knock-out-prefix=--`."""
    index = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if index is None or argv[index] != "lookup":
        return argv, None
    out = argv[: index + 1]
    prefix = None
    rest = iter(argv[index + 1 :])
    for arg in rest:
        if arg == KNOCKOUT:
            value = next(rest, None)
            if value is None:
                out.append(arg)  # argparse says it needs a value
            prefix = value if value is not None else prefix
        elif arg.startswith(KNOCKOUT + "="):
            prefix = arg.partition("=")[2]
        else:
            out.append(arg)
    return out, prefix


def merge_of(args: argparse.Namespace) -> object:
    deep_options = args.knock_out_prefix or args.sort_merged_arrays or args.merge_hash_arrays
    if deep_options and args.merge not in (None, "deep"):
        raise SystemExit("tend lookup: the deep merge options need --merge deep (or no --merge)")
    if not deep_options:
        return args.merge
    spec: dict[str, object] = {"strategy": "deep"}
    if args.knock_out_prefix:
        spec["knockout_prefix"] = args.knock_out_prefix
    if args.sort_merged_arrays:
        spec["sort_merged_arrays"] = True
    if args.merge_hash_arrays:
        spec["merge_hash_arrays"] = True
    return spec


def run(args: argparse.Namespace) -> int:
    from agent.data.explain import render_text, to_json, to_plain
    from agent.data.hiera import Hiera
    from agent.errors import NotFound, TendError

    merge = merge_of(args)
    settings = common.settings_of(args)
    repo = common.repo_of(args, settings)
    facts = common.facts_of(args, settings, repo)
    context = Hiera(repo).context(facts)
    try:
        found = context.lookup(args.key, merge, trace=args.explain)
    except (NotFound, TendError):
        if args.explain and context.last_trace is not None:
            _print_explanation(context.last_trace, args.json, render_text, to_json)
        raise
    finally:
        for warning in context.warnings:
            print(f"tend: warning: {warning}", file=sys.stderr)
    value = _revealed(found.value, repo, settings, facts) if args.reveal else to_plain(found.value)
    if args.explain and context.last_trace is not None:
        _print_explanation(context.last_trace, args.json, render_text, to_json)
    elif args.json:
        common.print_json(value)
    else:
        _print_value(value)
    return 0


def _revealed(value: object, repo: Path, settings: AgentSettings, facts: Mapping[str, Any]) -> object:
    """Decrypt with the caller's key: GNUPGHOME (an admin), else the agent keyring (a host); fail closed."""
    import os

    from agent.catalog.compile import reveal
    from agent.secrets.gpg import GnuPG
    from agent.secrets.reader import HostSecrets
    from agent.secrets.repo_keys import load_repo_keys
    from agent.secrets.secret import Secret

    home = Path(os.environ["GNUPGHOME"]) if os.environ.get("GNUPGHOME") else settings.state.gnupg
    keyring = GnuPG(home)
    host = str(facts.get("hostname", ""))
    try:
        reader = HostSecrets(keyring, lambda: load_repo_keys(repo), host)
        revealed = reveal(value, reader)
    finally:
        keyring.release()
    if home.resolve() == settings.state.gnupg.resolve():
        _log_reveal(reader, settings, host)

    def plain(item: object) -> object:
        if isinstance(item, Secret):
            return item.reveal()
        if isinstance(item, list):
            return [plain(i) for i in item]
        if isinstance(item, dict):
            return {k: plain(v) for k, v in item.items()}
        return item

    return plain(revealed)


def _log_reveal(reader: HostSecrets, settings: AgentSettings, host: str) -> None:
    """A decryption with the host keyring is audited like a run's, before anything is printed."""
    from datetime import UTC, datetime

    from agent.secrets.auditlog import AuditLog, to_syslog

    at = datetime.now(UTC).isoformat(timespec="seconds")
    entries = [
        {"time": at, "run_id": None, "host": host, "commit": None, "command": "lookup --reveal", **read.to_json()}
        for read in reader.reads
    ]
    to_syslog(AuditLog(settings.state.audit_log).append(entries))


def _print_explanation(
    trace: LookupTrace,
    as_json: bool,
    render_text: Callable[[LookupTrace], str],
    to_json: Callable[[LookupTrace], dict[str, Any]],
) -> None:
    if as_json:
        common.print_json(to_json(trace))
    else:
        sys.stdout.write(render_text(trace))


def _print_value(value: object) -> None:
    if isinstance(value, str):
        sys.stdout.write(value if value.endswith("\n") else value + "\n")
    elif value is None or isinstance(value, bool | int | float):
        common.print_json(value)
    else:
        common.print_yaml(value)
