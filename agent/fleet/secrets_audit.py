"""Who can read which secret and who uses it, from public keys and compiled catalogs alone."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.data.hiera import Hiera
from agent.fleet.audit_findings import (
    Finding,
    is_pkcs7,
    pkcs7_finding,
    sensitive_plaintext,
    shadowed_duplicates,
)
from agent.fleet.recipients import Usage, data_files, derive_usage, encrypted_values
from agent.secrets.enc import parse_enc
from agent.secrets.packets import recipient_key_ids
from agent.secrets.repo_keys import RepoKeys, load_repo_keys

# Highest precedence last: a row has one flag, the highest that applies (DESIGN §8.9).
FLAGS = ("ok", "cross_env", "over", "unknown", "missing")
ACCEPT_OPTION = "tend_cross_env"
NO_ENVIRONMENT = "(none)"
EXPIRY_WARNING_S = 30 * 86400

__all__ = ["FLAGS", "Audit", "AuditRow", "Finding", "host_environment", "run_audit"]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One (value, principal) pair; `environments` are those of the hosts that can read the value."""

    file: str
    key: str
    principal: str
    kind: str  # "host", "admin" or "unknown"
    key_id: str | None
    can_read: bool
    uses: bool
    flag: str
    environments: tuple[str, ...] = ()
    accepted: str | None = None  # why reading across environments is accepted (lookup_options tend_cross_env)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "environments": list(self.environments)}


@dataclass(frozen=True, slots=True)
class Audit:
    rows: list[AuditRow]
    values: int
    usage: Usage
    findings: list[Finding]

    @property
    def clean(self) -> bool:
        return all(row.flag == "ok" for row in self.rows) and not self.findings

    def accepted(self) -> list[dict[str, Any]]:
        """Each value read across environments by acceptance, with the reason the data gives."""
        found = {(r.file, r.key): (r.environments, r.accepted) for r in self.rows if r.accepted is not None}
        return [
            {"file": file, "key": key, "environments": list(environments), "reason": reason}
            for (file, key), (environments, reason) in sorted(found.items())
        ]

    def summary(self) -> dict[str, Any]:
        flags = Counter(row.flag for row in self.rows)
        return {
            "values": self.values,
            "hosts": len(self.usage.inventory.hosts),
            "admins": len(self.usage.inventory.admins),
            "rows": len(self.rows),
            "flags": {flag: flags.get(flag, 0) for flag in FLAGS},
            "accepted": self.accepted(),
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
        if is_pkcs7(value.text):
            findings.append(pkcs7_finding(value))
            recipients: list[str] = []
        else:
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
    findings.extend(sensitive_plaintext(usage.contexts))
    findings.extend(shadowed_duplicates(root, hiera, data_files(root, hiera)))
    findings.extend(_key_findings(usage, keys, time.time() if now is None else now))
    if host is not None:
        rows = [row for row in rows if row.principal == host]
        findings = [f for f in findings if f.subject == host]
    return Audit(rows, values, usage, findings)


def host_environment(usage: Usage, host: str) -> str:
    """The environment a host compiles in (its compiled facts, else its inventory facts)."""
    context = usage.contexts.get(host)
    facts = context.facts if context is not None else usage.inventory.hosts.get(host, {})
    environment = facts.get("environment")
    return NO_ENVIRONMENT if environment in (None, "") else str(environment)


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
    unknown: list[tuple[str, str]] = []
    readers: dict[str, str] = {}
    for key_id in recipients:
        principal = keys.by_key_id.get(key_id)
        listed = principal is not None and (
            principal.name in inventory.hosts if principal.kind == "host" else principal.name in inventory.admins
        )
        if principal is None or not listed:
            unknown.append((principal.name if principal else key_id, key_id))
        else:
            readers[principal.name] = key_id
    host_readers = sorted(h for h in inventory.hosts if h in readers)
    environments = tuple(sorted({host_environment(usage, h) for h in host_readers}))
    accepted = _accepted(usage, key, host_readers) if len(environments) > 1 else None
    rows = [AuditRow(file, key, name, "unknown", kid, True, False, "unknown", environments) for name, kid in unknown]
    for host in sorted(inventory.hosts):
        uses = (file, key) in usage.by_host.get(host, ())
        can_read = host in readers
        if uses or can_read:
            flag = "missing" if uses and not can_read else "over" if can_read and not uses else "ok"
            if flag == "ok" and len(environments) > 1 and accepted is None:
                flag = "cross_env"
            reason = accepted if can_read else None
            rows.append(
                AuditRow(file, key, host, "host", readers.get(host), can_read, uses, flag, environments, reason)
            )
    for admin in sorted(inventory.admins):
        if admin in readers:
            rows.append(AuditRow(file, key, admin, "admin", readers[admin], True, False, "ok", environments))
    return rows


def _accepted(usage: Usage, key: str, hosts: list[str]) -> str | None:
    """The reason the data gives for reading `key` across environments, when every reading host's
    lookup_options give one (`lookup_options: {KEY: {tend_cross_env: "why"}}`); else None."""
    reasons = set()
    for host in hosts:
        context = usage.contexts.get(host)
        reason = context.options_for(key).get(ACCEPT_OPTION) if context is not None else None
        if not isinstance(reason, str) or not reason.strip():
            return None
        reasons.add(reason.strip())
    return "; ".join(sorted(reasons)) or None
