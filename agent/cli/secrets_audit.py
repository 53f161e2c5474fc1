"""`tend secrets audit`: the matrix of values and principals (table, JSON, CSV), exit 1 on any flag."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import common

if TYPE_CHECKING:
    from agent.fleet.secrets_admin import SecretsAdmin
    from agent.fleet.secrets_audit import Audit

FIXES = {
    "over": "tend secrets rekey (the host can read a value it does not use)",
    "missing": "tend secrets rekey (the host uses a value it cannot read)",
    "unknown": "remove the key from the recipients with tend secrets rekey, or add its owner to the inventory",
}


def register_audit(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("audit", help="who can read and who uses each secret (no private key needed)")
    parser.add_argument("--host", help="only this principal's rows")
    parser.add_argument("--format", choices=["table", "json", "csv", "html"], default="table")
    parser.add_argument("--output", type=Path, help="write to FILE instead of stdout")
    common.add_repo_options(parser)
    common.add_agent_options(parser)


def run(args: argparse.Namespace, admin: SecretsAdmin) -> int:
    from agent.fleet.secrets_audit import run_audit

    audit = run_audit(admin.root, admin.hiera, host=args.host)
    if args.format == "json":
        import json

        text = json.dumps(audit.to_json(), indent=2) + "\n"
    elif args.format == "csv":
        text = _csv(audit)
    elif args.format == "html":
        from agent.cli.secrets_audit_html import render_html

        text = render_html(audit, FIXES)
    else:
        text = _table(audit)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0 if audit.clean else 1


def _csv(audit: Audit) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["file", "key", "principal", "kind", "key_id", "can_read", "uses", "flag"])
    for row in audit.rows:
        writer.writerow(
            [row.file, row.key, row.principal, row.kind, row.key_id or "", row.can_read, row.uses, row.flag]
        )
    return out.getvalue()


def _table(audit: Audit) -> str:
    """Values as rows, principals as columns: R reads and uses, r reads (admins), ! a flag."""
    principals = sorted({row.principal for row in audit.rows}, key=lambda p: (p not in audit.usage.inventory.hosts, p))
    cells: dict[tuple[str, str], str] = {}
    for row in audit.rows:
        mark = {"ok": "R" if row.uses else "r", "over": "!over", "missing": "!miss", "unknown": "!unkn"}[row.flag]
        cells[(f"{row.file}:{row.key}", row.principal)] = mark
    values = sorted({f"{row.file}:{row.key}" for row in audit.rows})
    width = max([len(v) for v in values] + [5])
    lines = [f"{'VALUE':<{width}}  " + "  ".join(f"{p:>6}" for p in principals)]
    for value in values:
        lines.append(f"{value:<{width}}  " + "  ".join(f"{cells.get((value, p), '.'):>6}" for p in principals))
    problems = [row for row in audit.rows if row.flag != "ok"]
    lines.append("")
    lines.append("R: uses and can read   r: can read (admin)   .: neither   !: a flag (below)")
    for row in problems:
        lines.append(f"{row.flag}: {row.principal} on {row.key} ({row.file}): fix with {FIXES[row.flag]}")
    for finding in audit.findings:
        lines.append(f"{finding.kind}: {finding.subject}: {finding.detail}: {finding.fix}")
    summary = audit.summary()
    count = len(problems) + len(audit.findings)
    lines.append(f"{summary['values']} values, {summary['hosts']} hosts, {count} problem(s)")
    return "\n".join(lines) + "\n"
