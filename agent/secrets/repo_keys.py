"""The public keys of a control repository: keys/hosts/<host>.asc and keys/admins/<name>.asc, by key ID."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from agent.errors import SecretError
from agent.location import Location
from agent.secrets.packets import KeyInfo, public_key_info

HOSTS_DIR = "keys/hosts"
ADMINS_DIR = "keys/admins"


@dataclass(frozen=True, slots=True)
class Principal:
    """A host or an admin with its public key (primary and subkeys)."""

    name: str
    kind: str  # "host" or "admin"
    file: str
    keys: tuple[KeyInfo, ...]

    @property
    def fingerprint(self) -> str:
        return self.keys[0].primary_fingerprint

    def encryption_keys(self, now: float | None = None) -> list[KeyInfo]:
        """Subkeys (or the primary) that may encrypt now: flagged for it, not expired, not revoked."""
        moment = time.time() if now is None else now
        return [k for k in self.keys if k.can_encrypt and not k.revoked and (k.expires is None or k.expires > moment)]

    def expires(self) -> int | None:
        """When the primary key expires (None: never)."""
        return self.keys[0].expires


@dataclass(frozen=True, slots=True)
class RepoKeys:
    principals: dict[str, Principal]  # by "host:web1" / "admin:alice"
    by_key_id: dict[str, Principal]

    def host(self, name: str) -> Principal | None:
        return self.principals.get(f"host:{name}")

    def admin(self, name: str) -> Principal | None:
        return self.principals.get(f"admin:{name}")

    def name_of(self, key_id: str) -> str:
        """The principal a recipient key ID belongs to, or `unknown key <ID>`."""
        principal = self.by_key_id.get(key_id.upper())
        return principal.name if principal else f"unknown key {key_id.upper()}"


def load_repo_keys(root: Path) -> RepoKeys:
    """Read every public key under keys/; a malformed or private key names its file."""
    principals: dict[str, Principal] = {}
    by_key_id: dict[str, Principal] = {}
    for folder, kind in ((HOSTS_DIR, "host"), (ADMINS_DIR, "admin")):
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.asc")):
            relative = f"{folder}/{path.name}"
            try:
                keys = tuple(public_key_info(path.read_bytes()))
            except SecretError as error:
                raise SecretError(error.message, location=Location(relative)) from None
            principal = Principal(path.stem, kind, relative, keys)
            principals[f"{kind}:{path.stem}"] = principal
            for key in keys:
                by_key_id[key.key_id] = principal
    return RepoKeys(principals, by_key_id)


# Folders a private key is never looked for in: version control, virtualenvs and caches.
_NOT_SCANNED = frozenset([".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".mypy_cache"])
_SCAN_LIMIT = 4 << 20


def find_private_keys(root: Path) -> list[str]:
    """Every file under the repository holding private-key material (only public keys may live there)."""
    from agent.secrets.packets import contains_private_key

    found = []
    for directory, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in _NOT_SCANNED)
        for name in sorted(names):
            path = Path(directory) / name
            try:
                if path.is_symlink() or path.stat().st_size > _SCAN_LIMIT:
                    continue
                if contains_private_key(path.read_bytes()):
                    found.append(str(path.relative_to(root)))
            except OSError:
                continue
    return found


def refuse_private_keys(root: Path) -> None:
    found = find_private_keys(root)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise SecretError(
            "private-key material in the control repository: only public keys may be committed; "
            "remove it and treat the key as compromised" + more,
            location=Location(found[0]),
        )
