"""Who can read which secret and who uses it, from public keys and compiled catalogs alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.data.hiera import Hiera
from agent.secrets.enc import parse_enc
from agent.secrets.keys import RepoKeys, load_repo_keys
from agent.secrets.packets import recipient_key_ids
from agent.secrets.recipients import Usage, derive_usage, encrypted_values

FLAGS = ("ok", "over", "missing", "unknown")


@dataclass(frozen=True, slots=True)
class AuditRow:
    file: str
    key: str
    principal: str
    kind: str  # "host", "admin" or "unknown"
    key_id: str | None
    can_read: bool
    uses: bool
    flag: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Audit:
    rows: list[AuditRow]
    values: int
    usage: Usage

    @property
    def clean(self) -> bool:
        return all(row.flag == "ok" for row in self.rows)

    def summary(self) -> dict[str, Any]:
        flags = Counter(row.flag for row in self.rows)
        return {
            "values": self.values,
            "hosts": len(self.usage.inventory.hosts),
            "admins": len(self.usage.inventory.admins),
            "rows": len(self.rows),
            "flags": {flag: flags.get(flag, 0) for flag in FLAGS},
        }

    def to_json(self) -> dict[str, Any]:
        return {"rows": [row.to_json() for row in self.rows], "summary": self.summary()}


def run_audit(root: Path, hiera: Hiera | None = None, *, host: str | None = None) -> Audit:
    hiera = hiera or Hiera(root)
    usage = derive_usage(root, hiera)
    keys = load_repo_keys(root)
    rows: list[AuditRow] = []
    values = 0
    for value in encrypted_values(root, hiera):
        values += 1
        message = parse_enc(value.text, location=value.location, subject=value.key)
        recipients = recipient_key_ids(message, location=value.location, subject=value.key)
        rows.extend(_rows(value.file, value.key, recipients, usage, keys))
    if host is not None:
        rows = [row for row in rows if row.principal == host]
    return Audit(rows, values, usage)


def _rows(file: str, key: str, recipients: list[str], usage: Usage, keys: RepoKeys) -> list[AuditRow]:
    inventory = usage.inventory
    rows = []
    readers: dict[str, str] = {}
    for key_id in recipients:
        principal = keys.by_key_id.get(key_id)
        listed = principal is not None and (
            principal.name in inventory.hosts if principal.kind == "host" else principal.name in inventory.admins
        )
        if not listed:
            name = principal.name if principal else key_id
            rows.append(AuditRow(file, key, name, "unknown", key_id, True, False, "unknown"))
        else:
            readers[principal.name] = key_id
    for host in sorted(inventory.hosts):
        uses = (file, key) in usage.by_host.get(host, ())
        can_read = host in readers
        if uses or can_read:
            flag = "ok" if uses == can_read else ("over" if can_read else "missing")
            rows.append(AuditRow(file, key, host, "host", readers.get(host), can_read, uses, flag))
    for admin in sorted(inventory.admins):
        if admin in readers:
            rows.append(AuditRow(file, key, admin, "admin", readers[admin], True, False, "ok"))
    return rows
