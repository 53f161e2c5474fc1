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
    from agent.fleet.secrets_audit import Audit, AuditRow

FIXES = {
    "over": "tend secrets rekey (the host can read a value it does not use)",
    "missing": "tend secrets rekey (the host uses a value it cannot read)",
    "unknown": "remove the key from the recipients with tend secrets rekey, or add its owner to the inventory",
    "cross_env": "one value per environment, in environment-specific data (then tend secrets rekey), "
    'or accept it with a reason: lookup_options: {KEY: {tend_cross_env: "why"}}',
}
MARKS = {"over": "!over", "missing": "!miss", "unknown": "!unkn", "cross_env": "!xenv"}
COLUMNS = ["file", "key", "principal", "kind", "key_id", "can_read", "uses", "flag", "environments", "accepted"]


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
    writer.writerow(COLUMNS)
    for row in audit.rows:
        writer.writerow(
            [row.file, row.key, row.principal, row.kind, row.key_id or "", row.can_read, row.uses, row.flag,
             " ".join(row.environments), row.accepted or ""]
        )  # fmt: skip
    return out.getvalue()


def mark(row: AuditRow) -> str:
    """A cell of the matrix: R reads and uses, r reads (admins), R* reads across environments by acceptance."""
    if row.flag != "ok":
        return MARKS[row.flag]
    if row.accepted is not None:
        return "R*" if row.uses else "r*"
    return "R" if row.uses else "r"


def problem_lines(audit: Audit, fixes: dict[str, str] = FIXES) -> list[str]:
    """One line per flagged row, per value read across environments, and per finding."""
    lines = [f"{row.flag}: {row.principal} on {row.key} ({row.file}): fix with {fixes[row.flag]}"
             for row in audit.rows if row.flag not in ("ok", "cross_env")]  # fmt: skip
    crossing = sorted({(row.file, row.key) for row in audit.rows if row.flag == "cross_env"})
    readers = _readers(audit) if crossing else {}
    for file, key in crossing:
        fix = fixes["cross_env"].replace("KEY", key)
        lines.append(f"cross_env: {key} ({file}) is readable in {_where(readers, file, key)}: fix with {fix}")
    lines += [f"{finding.kind}: {finding.subject}: {finding.detail}: {finding.fix}" for finding in audit.findings]
    return lines


def accepted_lines(audit: Audit) -> list[str]:
    """One line per value read across environments by acceptance, with the reason the data gives."""
    accepted = audit.accepted()
    readers = _readers(audit) if accepted else {}
    return [
        f"accepted cross_env: {item['key']} ({item['file']}) is readable in "
        f"{_where(readers, item['file'], item['key'])}: {item['reason']}"
        for item in accepted
    ]


def _readers(audit: Audit) -> dict[tuple[str, str], dict[str, list[str]]]:
    """For each value, the hosts that can read it by environment, from one pass over the rows (a value at a
    time would make the audit's cost grow with values times rows)."""
    from agent.fleet.secrets_audit import host_environment

    environments: dict[str, str] = {}
    readers: dict[tuple[str, str], dict[str, list[str]]] = {}
    for row in audit.rows:
        if row.kind == "host" and row.can_read:
            if row.principal not in environments:
                environments[row.principal] = host_environment(audit.usage, row.principal)
            by_environment = readers.setdefault((row.file, row.key), {})
            by_environment.setdefault(environments[row.principal], []).append(row.principal)
    return readers


def _where(readers: dict[tuple[str, str], dict[str, list[str]]], file: str, key: str) -> str:
    """`prod (web1, web2), staging (web-stg1)`: the environments of the hosts that can read a value."""
    hosts = readers.get((file, key), {})
    return ", ".join(f"{environment} ({', '.join(names)})" for environment, names in sorted(hosts.items()))


def _table(audit: Audit) -> str:
    """Values as rows, principals as columns: R reads and uses, r reads (admins), ! a flag."""
    principals = sorted({row.principal for row in audit.rows}, key=lambda p: (p not in audit.usage.inventory.hosts, p))
    cells = {(f"{row.file}:{row.key}", row.principal): mark(row) for row in audit.rows}
    values = sorted({f"{row.file}:{row.key}" for row in audit.rows})
    width = max([len(v) for v in values] + [5])
    lines = [f"{'VALUE':<{width}}  " + "  ".join(f"{p:>6}" for p in principals)]
    for value in values:
        lines.append(f"{value:<{width}}  " + "  ".join(f"{cells.get((value, p), '.'):>6}" for p in principals))
    problems = problem_lines(audit)
    lines.append("")
    lines.append(
        "R: uses and can read   r: can read (admin)   *: across environments, accepted   .: neither   !: a flag (below)"
    )
    lines += problems + accepted_lines(audit)
    summary = audit.summary()
    lines.append(f"{summary['values']} values, {summary['hosts']} hosts, {len(problems)} problem(s)")
    return "\n".join(lines) + "\n"
