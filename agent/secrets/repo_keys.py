"""The public keys of a control repository: keys/hosts/<host>.asc and keys/admins/<name>.asc, by key ID."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.errors import HostError, SecretError
from agent.location import Location
from agent.secrets.packets import KeyInfo, public_key_info
from agent.system import commands
from agent.system.commands import DEFAULT_ENV

HOSTS_DIR = "keys/hosts"
ADMINS_DIR = "keys/admins"
GIT_TIMEOUT_S = 60.0


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


def find_private_keys(root: Path, *, bundle: bool = False) -> list[str]:
    """Every file of the repository holding private-key material (only public keys may live there).

    What is scanned (DESIGN §8.7): a bundle whole; an admin's git checkout (a `.git` at its top) as git
    would commit it, tracked plus untracked files that are not ignored; any other tree whole. A bundle
    never runs git: its own `.git/info/exclude` could hide a file from the scan.
    """
    from agent.secrets.packets import stream_contains_private_key

    listed = None if bundle or not (root / ".git").exists() else _git_candidates(root)
    found = []
    for relative in _whole_tree(root) if listed is None else listed:
        path = root / relative
        try:
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as stream:
                if stream_contains_private_key(stream, os.fstat(stream.fileno()).st_size):
                    found.append(relative)
        except OSError:
            continue
    return sorted(found)


def _whole_tree(root: Path) -> Iterator[str]:
    """Every file under root, relative; a checkout's own `.git` is git's, not the tree's."""
    for directory, folders, names in os.walk(root):
        here = Path(directory)
        folders[:] = sorted(f for f in folders if not (here == root and f == ".git"))
        for name in sorted(names):
            yield str((here / name).relative_to(root))


def _git_candidates(root: Path) -> list[str] | None:
    """What git would commit: `git ls-files -co --exclude-standard`; None when git cannot tell (then the
    whole tree is scanned). No user or system config, and no fsmonitor command, is run."""
    argv = ["git", "-c", "core.fsmonitor=false", "-c", "safe.directory=*", "-C", str(root),
            "ls-files", "-z", "--cached", "--others", "--exclude-standard"]  # fmt: skip
    env = {**DEFAULT_ENV, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent"}
    try:
        result = commands.run(argv, env=env, timeout=GIT_TIMEOUT_S)
    except HostError:
        return None
    if not result.ok:
        return None
    return sorted({name for name in result.stdout.decode("utf-8", "surrogateescape").split("\0") if name})


def refuse_private_keys(root: Path, *, bundle: bool = False) -> None:
    refuse_found(find_private_keys(root, bundle=bundle))


def refuse_found(found: Sequence[str]) -> None:
    """SecretError naming the first of the repository's files found holding private keys, if any."""
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise SecretError(
            "private-key material in the control repository: only public keys may be committed; "
            "remove it and treat the key as compromised" + more,
            location=Location(found[0]),
        )
