"""`tend secrets set|show|rekey|convert`: an admin's view of the encrypted values, from a checkout of the repo."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import common

if TYPE_CHECKING:
    from agent.fleet.secrets_admin import SecretsAdmin


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("secrets", help="set, show and re-key encrypted values")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    setter = verbs.add_parser("set", help="encrypt a value (read from stdin, or a prompt) to its derived readers")
    shower = verbs.add_parser("show", help="decrypt a value with your own key")
    for sub in (setter, shower):
        sub.add_argument("file", help="data file, like hieradata/roles/db.yaml")
        sub.add_argument("key", help="top-level key, like db::password")
    rekey = verbs.add_parser("rekey", help="re-encrypt every value whose readers changed")
    rekey.add_argument("--check", action="store_true", help="only report; exit 1 if any value differs")
    convert = verbs.add_parser("convert", help="re-encrypt a file's eyaml PKCS7 values to their derived readers")
    convert.add_argument("file", help="data file, like hieradata/common.eyaml")
    for which in ("private", "public"):
        convert.add_argument(
            f"--pkcs7-{which}-key", type=Path, required=True, metavar="PATH", help=f"eyaml's PKCS7 {which} key"
        )
    from agent.cli import secrets_audit

    secrets_audit.register_audit(verbs)
    for sub in (setter, shower, rekey, convert):
        common.add_repo_options(sub)
        common.add_agent_options(sub)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agent.fleet.secrets_admin import SecretsAdmin

    settings = common.settings_of(args)
    admin = SecretsAdmin(
        common.repo_of(args, settings), warn=lambda text: print(f"tend: warning: {text}", file=sys.stderr)
    )
    if args.verb == "set":
        readers = admin.set(args.file, args.key, _read_value())
        print(f"{args.key} in {args.file}: encrypted for {', '.join(readers)}", file=sys.stderr)
        return 0
    if args.verb == "show":
        value = admin.show(args.file, args.key)
        sys.stdout.write(value if value.endswith("\n") else value + "\n")
        return 0
    if args.verb == "convert":
        return _convert(args, admin)
    if args.verb == "audit":
        from agent.cli import secrets_audit

        return secrets_audit.run(args, admin)
    changes = admin.differences()
    for change in changes:
        encrypted = change.value
        print(
            f"{encrypted.location}: {encrypted.key}: readers {', '.join(change.readers_now)} -> "
            f"{', '.join(change.readers_wanted)}"
        )
    if args.check:
        if changes:
            print(f"tend: {len(changes)} value(s) to re-key: run `tend secrets rekey`", file=sys.stderr)
        return 1 if changes else 0
    admin.rekey(changes)
    print(f"re-keyed {len(changes)} value(s)", file=sys.stderr)
    return 0


def _convert(args: argparse.Namespace, admin: SecretsAdmin) -> int:
    from agent.fleet.convert import Pkcs7Keys, convert_file

    keys = Pkcs7Keys.outside(admin.root, args.pkcs7_private_key, args.pkcs7_public_key)
    converted = convert_file(admin, args.file, keys)
    for done in converted:
        print(f"{args.file}:{done.line}: {done.key}: PKCS7 -> GPG for {', '.join(done.readers)}", file=sys.stderr)
    print(f"converted {len(converted)} PKCS7 value(s) in {args.file}", file=sys.stderr)
    return 0


def _read_value() -> str:
    """The value from stdin (one trailing newline dropped) or, on a terminal, a prompt; never from argv."""
    if sys.stdin.isatty():
        first = getpass.getpass("value: ")
        if getpass.getpass("again: ") != first:
            raise SystemExit("tend: the two values differ")
        return first
    data = sys.stdin.buffer.read().decode("utf-8")
    if data.endswith("\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith("\n") else data
