"""Entry point: parses the command line, dispatches to a command module, turns errors into exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agent import __version__
from agent.cli import apply as apply_command
from agent.cli import audit as audit_command
from agent.cli import check as check_command
from agent.cli import diff as diff_command
from agent.cli import facts as facts_command
from agent.cli import fleet as fleet_command
from agent.cli import keys as keys_command
from agent.cli import lookup as lookup_command
from agent.cli import promote as promote_command
from agent.cli import pull as pull_command
from agent.cli import report as report_command
from agent.cli import secrets as secrets_command

COMMANDS = (
    apply_command,
    pull_command,
    check_command,
    lookup_command,
    facts_command,
    keys_command,
    secrets_command,
    audit_command,
    report_command,
    promote_command,
    fleet_command,
    diff_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tend", description="A masterless configuration-management agent.")
    parser.add_argument("--version", action="version", version=f"tend {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments, knockout = lookup_command.take_knockout(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(arguments)
    if knockout is not None:
        args.knock_out_prefix = knockout
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    from agent.errors import TendError

    try:
        code: int = args.run(args)
        return code
    except TendError as error:
        if args.debug:
            raise
        print(f"tend: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tend: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
