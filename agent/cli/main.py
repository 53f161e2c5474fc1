"""Entry point: parses the command line, dispatches to a command module, turns errors into exit codes."""

from __future__ import annotations

import sys

from agent import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which `tend --version` need not pay
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

# The modules under agent/cli/ that register a command, in the order help lists them, each with the command
# words it registers: a command line names one, and only its module is imported (`tend --version` needs none).
COMMANDS = {
    "apply": ("apply", "plan"), "pull": ("pull", "run", "daemon", "rollback"), "check": ("check",),
    "lookup": ("lookup",), "facts": ("facts",), "keys": ("keys",), "secrets": ("secrets",), "audit": ("audit",),
    "report": ("report", "drift"), "promote": ("promote",), "fleet": ("fleet",), "diff": ("diff",),
}  # fmt: skip
VERSION = f"tend {__version__}"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of `command` alone when it is one (the others' modules unimported)."""
    import argparse

    parser = argparse.ArgumentParser(prog="tend", description="A masterless configuration-management agent.")
    parser.add_argument("--version", action="version", version=VERSION)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [name for name, words in COMMANDS.items() if command in words] or list(COMMANDS)
    for name in modules:
        # __import__ as an import statement does, so that Python's import log (-X importtime) shows it
        __import__(f"agent.cli.{name}", fromlist=["register"]).register(commands)
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The command an argv names, when nothing before it but --debug (a --help there lists every command)."""
    for arg in argv:
        if arg != "--debug":
            return None if arg.startswith("-") else arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given == ["--version"]:  # before argparse and the commands: start-up near the bare interpreter's
        print(VERSION)
        return 0
    arguments, knockout = given, None
    if "lookup" in given:  # only `tend lookup` has the option argparse cannot read
        from agent.cli.lookup import take_knockout

        arguments, knockout = take_knockout(given)
    parser = build_parser(command_word(arguments))
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
