"""`tend keys init|list`: the host's own keypair, and the public keys of the repository."""

from __future__ import annotations

import argparse
import socket
import sys
import time
from typing import TYPE_CHECKING

from agent.cli import common

if TYPE_CHECKING:
    from agent.settings import AgentSettings


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("keys", help="the host key, and the repository's public keys")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    init = verbs.add_parser("init", help="create this host's keypair and print its public key")
    init.add_argument("--name", help="the host's name in the inventory (default: the short hostname)")
    listing = verbs.add_parser("list", help="the repository's host and admin keys")
    common.add_repo_options(listing)
    for sub in (init, listing):
        common.add_agent_options(sub)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = common.settings_of(args)
    return _init(args, settings) if args.verb == "init" else _list(args, settings)


def _init(args: argparse.Namespace, settings: AgentSettings) -> int:
    from agent.secrets.gpg import GnuPG

    name = args.name or socket.gethostname().split(".")[0]
    settings.state.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # the state dir is private (issue 20)
    gnupg = GnuPG(settings.state.gnupg)
    existing = gnupg.fingerprints(secret=True)
    if existing:
        print(f"tend: {gnupg.home} already holds this host's key {existing[0]}; its public key:", file=sys.stderr)
        fingerprint = existing[0]
    else:
        fingerprint = gnupg.generate(f"tend host {name} <{name}@tend.invalid>")
        print(f"tend: created the host key {fingerprint} in {gnupg.home}", file=sys.stderr)
    sys.stdout.write(gnupg.export_public(fingerprint).decode())
    print(f"tend: commit it as keys/hosts/{name}.asc in the control repository", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, settings: AgentSettings) -> int:
    from agent.repo.inventory import load_inventory
    from agent.secrets.repo_keys import load_repo_keys

    repo = common.repo_of(args, settings)
    keys = load_repo_keys(repo)
    inventory = load_inventory(repo)
    now = time.time()
    rows = []
    for principal in sorted(keys.principals.values(), key=lambda p: (p.kind, p.name)):
        listed = principal.name in (inventory.hosts if principal.kind == "host" else inventory.admins)
        encryption = principal.encryption_keys(now)
        expires = principal.expires()
        status = "ok"
        if not listed:
            status = "not in the inventory"
        elif not encryption:
            status = "no valid encryption key"
        elif expires is not None and expires - now < 30 * 86400:
            status = f"expires in {max(0, int((expires - now) // 86400))} days"
        subkey = encryption[-1].key_id if encryption else "-"
        rows.append((principal.kind, principal.name, principal.fingerprint, subkey, status))
    for host in sorted(inventory.hosts):
        if keys.host(host) is None:
            rows.append(("host", host, "-", "-", "missing: no keys/hosts/" + host + ".asc"))
    for admin in sorted(inventory.admins):
        if keys.admin(admin) is None:
            rows.append(("admin", admin, "-", "-", "missing: no keys/admins/" + admin + ".asc"))
    print(f"{'KIND':<6} {'NAME':<16} {'FINGERPRINT':<40} {'ENCRYPTION KEY':<16} STATUS")
    for row in rows:
        print(f"{row[0]:<6} {row[1]:<16} {row[2]:<40} {row[3]:<16} {row[4]}")
    return 0
