"""A GnuPG home driven through gpg's batch interface: plaintext only on stdin and stdout, never in argv."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from agent.errors import HostError, SecretError
from agent.system import commands
from agent.system.commands import DEFAULT_ENV, CommandResult

# gpg-agent's socket lives in the home; a long path breaks it, so long homes are reached by a short link.
_MAX_HOME = 60
KEY_ID_CACHE = "tend-key-ids.json"
GPG_TIMEOUT = 60.0


class GnuPG:
    """One GnuPG home (an agent keyring, an admin's ~/.gnupg, or a throwaway one for encryption)."""

    def __init__(self, home: Path, *, timeout: float = GPG_TIMEOUT):
        self.home = home
        self.timeout = timeout
        self._link: Path | None = None

    @classmethod
    def temporary(cls) -> GnuPG:
        """A fresh empty home under /tmp (0700); close() removes it."""
        return cls(Path(tempfile.mkdtemp(prefix="tend-gpg-")))

    @property
    def exists(self) -> bool:
        return self.home.is_dir()

    def homedir(self) -> str:
        if len(str(self.home)) <= _MAX_HOME:
            return str(self.home)
        if self._link is None:
            link = Path(tempfile.mkdtemp(prefix="tend-g-")) / "h"
            link.symlink_to(self.home.absolute())
            self._link = link
        return str(self._link)

    def run(self, args: Sequence[str], *, input: bytes | None = None) -> CommandResult:
        home = self.homedir()
        argv = ["gpg", "--homedir", home, "--batch", "--no-tty", "--quiet", "--pinentry-mode", "loopback", *args]
        try:
            return commands.run(argv, input=input, env={**DEFAULT_ENV, "GNUPGHOME": home}, timeout=self.timeout)
        except HostError as error:
            if "not found" in error.message:
                raise SecretError("gpg is not installed (Debian: apt-get install gnupg)") from None
            raise

    def _check(self, result: CommandResult, what: str) -> CommandResult:
        if not result.ok:
            raise SecretError(f"{what}: gpg {result.failure()}")
        return result

    def secret_key_ids(self) -> set[str]:
        """The key IDs (primary and subkeys) of the secret keys in this home."""
        if self.home.exists() and not self.home.is_dir():
            raise SecretError(f"the keyring {self.home} is not a directory")
        if not self.exists:
            return set()
        stamp = self._keyring_stamp()
        cached = self._cached_ids(stamp)
        if cached is not None:
            return cached
        result = self._check(
            self.run(["--with-colons", "--list-secret-keys"]), f"cannot list the secret keys in {self.home}"
        )
        ids = {
            line.split(":")[4].upper()
            for line in result.stdout.decode(errors="replace").splitlines()
            if line.startswith(("sec:", "ssb:"))
        }
        with contextlib.suppress(OSError):
            (self.home / KEY_ID_CACHE).write_text(json.dumps({"stamp": stamp, "ids": sorted(ids)}))
        return ids

    def _keyring_stamp(self) -> list[int]:
        """What changes when keys are added or removed: the keybox's and the private keys' mtimes."""
        stamp = []
        for name in ("pubring.kbx", "private-keys-v1.d"):
            try:
                stamp.append((self.home / name).stat().st_mtime_ns)
            except OSError:
                stamp.append(0)
        return stamp

    def _cached_ids(self, stamp: list[int]) -> set[str] | None:
        """The key IDs listed by an earlier run, while the keyring is unchanged: one gpg process less."""
        try:
            cache = json.loads((self.home / KEY_ID_CACHE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(cache, dict) or cache.get("stamp") != stamp or not isinstance(cache.get("ids"), list):
            return None
        return {str(key_id) for key_id in cache["ids"]}

    def fingerprints(self, *, secret: bool) -> list[str]:
        if not self.exists:
            return []
        listing = "--list-secret-keys" if secret else "--list-keys"
        result = self._check(self.run(["--with-colons", listing]), "cannot list the keys")
        lines = result.stdout.decode(errors="replace").splitlines()
        return [lines[i + 1].split(":")[9] for i, ln in enumerate(lines[:-1]) if ln.startswith(("sec:", "pub:"))]

    def decrypt(self, message: bytes) -> bytes:
        result = self.run(["--decrypt"], input=message)
        if not result.ok:
            raise SecretError(f"gpg could not decrypt it: {result.failure()}")
        return result.stdout

    def encrypt(self, plaintext: bytes, fingerprints: Sequence[str]) -> bytes:
        """Encrypt to exactly these (sub)keys: `FPR!` stops gpg from choosing another subkey."""
        recipients = [arg for fpr in fingerprints for arg in ("--recipient", f"{fpr}!")]
        result = self.run(["--trust-model", "always", "--encrypt", *recipients], input=plaintext)
        return self._check(result, "cannot encrypt").stdout

    def import_keys(self, data: bytes) -> None:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._check(self.run(["--import"], input=data), "cannot import keys")

    def generate(self, user_id: str) -> str:
        """A new signing primary (ed25519) with an encryption subkey (cv25519), no passphrase."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.home, 0o700)
        self._check(
            self.run(["--passphrase", "", "--quick-gen-key", user_id, "ed25519", "sign", "never"]),
            "cannot generate the host key",
        )
        fingerprint = self.fingerprints(secret=True)[-1]
        self._check(
            self.run(["--passphrase", "", "--quick-add-key", fingerprint, "cv25519", "encr", "never"]),
            "cannot add the encryption subkey",
        )
        return fingerprint

    def export_public(self, fingerprint: str) -> bytes:
        return self._check(self.run(["--armor", "--export", fingerprint]), "cannot export the public key").stdout

    def release(self) -> None:
        """Drop the short link to a long home (the home itself, and its agent, stay)."""
        if self._link is not None:
            self._link.unlink(missing_ok=True)
            self._link.parent.rmdir()
            self._link = None

    def close(self, *, remove: bool = False) -> None:
        """Stop this home's gpg-agent (each home starts its own); remove a temporary home."""
        home = self.homedir()
        with contextlib.suppress(HostError):
            commands.run(["gpgconf", "--homedir", home, "--kill", "all"], env=DEFAULT_ENV, timeout=10)
        self.release()
        if remove:
            shutil.rmtree(self.home, ignore_errors=True)
