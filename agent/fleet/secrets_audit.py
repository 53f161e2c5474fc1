"""Who can read which secret and who uses it, from public keys and compiled catalogs alone."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.data.hiera import Hiera
from agent.fleet.recipients import Usage, derive_usage, encrypted_values
from agent.secrets.enc import parse_enc
from agent.secrets.packets import recipient_key_ids
from agent.secrets.repo_keys import RepoKeys, load_repo_keys

FLAGS = ("ok", "over", "missing", "unknown")
EXPIRY_WARNING_S = 30 * 86400


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
class Finding:
    """A problem beyond one (value, principal) pair: an unused value, a stray, missing or expiring key."""

    kind: str  # "unused", "stray_key", "missing_key", "expiring_key"
    subject: str
    detail: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Audit:
    rows: list[AuditRow]
    values: int
    usage: Usage
    findings: list[Finding]

    @property
    def clean(self) -> bool:
        return all(row.flag == "ok" for row in self.rows) and not self.findings

    def summary(self) -> dict[str, Any]:
        flags = Counter(row.flag for row in self.rows)
        return {
            "values": self.values,
            "hosts": len(self.usage.inventory.hosts),
            "admins": len(self.usage.inventory.admins),
            "rows": len(self.rows),
            "flags": {flag: flags.get(flag, 0) for flag in FLAGS},
            "findings": [finding.to_json() for finding in self.findings],
        }

    def to_json(self) -> dict[str, Any]:
        return {"rows": [row.to_json() for row in self.rows], "summary": self.summary()}


def run_audit(root: Path, hiera: Hiera | None = None, *, host: str | None = None, now: float | None = None) -> Audit:
    hiera = hiera or Hiera(root)
    usage = derive_usage(root, hiera)
    keys = load_repo_keys(root)
    rows: list[AuditRow] = []
    findings: list[Finding] = []
    values = 0
    for value in encrypted_values(root, hiera):
        values += 1
        message = parse_enc(value.text, location=value.location, subject=value.key)
        recipients = recipient_key_ids(message, location=value.location, subject=value.key)
        rows.extend(_rows(value.file, value.key, recipients, usage, keys))
        if not usage.users(value.file, value.key):
            findings.append(
                Finding(
                    "unused",
                    f"{value.file}:{value.key}",
                    "no host's catalog uses this value",
                    "remove it, or use it in a manifest",
                )
            )
    findings.extend(_key_findings(usage, keys, time.time() if now is None else now))
    if host is not None:
        rows = [row for row in rows if row.principal == host]
        findings = [f for f in findings if f.subject == host]
    return Audit(rows, values, usage, findings)


def _key_findings(usage: Usage, keys: RepoKeys, now: float) -> list[Finding]:
    inventory = usage.inventory
    out = []
    for principal in sorted(keys.principals.values(), key=lambda p: (p.kind, p.name)):
        listed = principal.name in (inventory.hosts if principal.kind == "host" else inventory.admins)
        if not listed:
            detail = f"{principal.file} belongs to no {principal.kind} of the inventory"
            fix = f"remove {principal.file}, or add it to keys/inventory.yaml"
            out.append(Finding("stray_key", principal.name, detail, fix))
        for key in principal.keys:
            if key.expires is not None and now < key.expires < now + EXPIRY_WARNING_S:
                days = int((key.expires - now) // 86400)
                fix = "extend it (gpg --quick-set-expire) or rotate it, then tend secrets rekey"
                out.append(Finding("expiring_key", principal.name, f"key {key.key_id} expires in {days} days", fix))
    for host in sorted(inventory.hosts):
        if keys.host(host) is None:
            out.append(Finding("missing_key", host, f"no keys/hosts/{host}.asc", "run tend keys init on the host"))
    for admin in sorted(inventory.admins):
        if keys.admin(admin) is None:
            out.append(Finding("missing_key", admin, f"no keys/admins/{admin}.asc", "add the admin's public key"))
    return out


def _rows(file: str, key: str, recipients: list[str], usage: Usage, keys: RepoKeys) -> list[AuditRow]:
    inventory = usage.inventory
    rows = []
    readers: dict[str, str] = {}
    for key_id in recipients:
        principal = keys.by_key_id.get(key_id)
        listed = principal is not None and (
            principal.name in inventory.hosts if principal.kind == "host" else principal.name in inventory.admins
        )
        if principal is None or not listed:
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
