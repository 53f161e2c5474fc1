"""Entry point: parses the command line, dispatches to a command module, turns errors into exit codes."""

from __future__ import annotations

import sys

from agent import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which `tend --version` need not pay
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

# The modules under agent/cli/ that register a command, imported when the parser is built (`tend --version`
# needs none of them).
COMMANDS = (
    "apply", "pull", "check", "lookup", "facts", "keys", "secrets", "audit", "report", "promote", "fleet", "diff",
)  # fmt: skip
VERSION = f"tend {__version__}"


def build_parser() -> argparse.ArgumentParser:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(prog="tend", description="A masterless configuration-management agent.")
    parser.add_argument("--version", action="version", version=VERSION)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"agent.cli.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given == ["--version"]:  # before argparse and the commands: start-up near the bare interpreter's
        print(VERSION)
        return 0
    from agent.cli.lookup import take_knockout

    parser = build_parser()
    arguments, knockout = take_knockout(given)
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
