"""`tend audit verify|show`: the host's secret-read log, its hash chain checked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("audit", help="the secret-read log: verify its chain, show reads")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    verify = verbs.add_parser("verify", help="check the hash chain; exit 1 naming where it breaks")
    verify.add_argument("file", nargs="?", type=Path, help="the log (default <state-dir>/audit.log)")
    show = verbs.add_parser("show", help="list the reads")
    show.add_argument("--since", help="only reads at or after this ISO time (2026-11-01 or 2026-11-01T10:00)")
    show.add_argument("--key", help="only reads of this key")
    show.add_argument("--json", action="store_true", help="one JSON object per line")
    for sub in (verify, show):
        common.add_agent_options(sub)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agent.secrets.auditlog import AuditLog

    settings = common.settings_of(args)
    log = AuditLog(getattr(args, "file", None) or settings.state.audit_log)
    if args.verb == "verify":
        verdict = log.verify()
        if verdict.ok:
            unkeyed = "" if verdict.keyed or not verdict.lines else " (no keyed head: written before tend keyed it)"
            print(f"{log.path}: {verdict.lines} reads, chain intact{unkeyed}")
            return 0
        print(f"tend: {log.path}: {verdict.problem}", file=sys.stderr)
        return 1
    if not log.path.exists():
        return 0
    import json

    for entry in log.entries():
        if args.since and str(entry.get("time", "")) < args.since:
            continue
        if args.key and entry.get("key") != args.key:
            continue
        if args.json:
            print(json.dumps(entry, sort_keys=True))
        else:
            print(f"{entry.get('time')}  {entry.get('host')}  {entry.get('key')}  {entry.get('file')}  "
                  f"run {entry.get('run_id')}  commit {(entry.get('commit') or '-')[:12]}")  # fmt: skip
    return 0
