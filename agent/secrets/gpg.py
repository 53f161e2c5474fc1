"""A GnuPG home driven through python-gnupg: plaintext only on gpg's stdin and stdout, never in argv."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import HostError, SecretError
from agent.system import commands
from agent.system.commands import DEFAULT_ENV

if TYPE_CHECKING:
    from agent.secrets.timedgpg import TimedGPG

# gpg-agent's socket lives in the home; a long path breaks it, so long homes are reached by a short link.
_MAX_HOME = 60
KEY_ID_CACHE = "tend-key-ids.json"
GPG_TIMEOUT = 60.0
# A decrypted value is a password, a key or a certificate: 1 MiB is plenty, and bounds a compression bomb.
MAX_DECRYPTED = 1024 * 1024
# --pinentry-mode loopback: a key with a passphrase fails at once instead of waiting for a pinentry.
_OPTIONS = ("--quiet", "--pinentry-mode", "loopback")


@dataclass(frozen=True, slots=True)
class Verification:
    """What gpg says of a detached signature, and what the keyring says of the key that made it."""

    valid: bool  # a good signature by a key gpg still accepts
    status: str  # python-gnupg's word for it ("signature bad", "no public key", …)
    key_id: str | None  # the signing key's ID, as the signature names it
    signer: str | None  # the full fingerprint of the signing key's primary key
    key_problem: str | None = None  # "has expired" or "was revoked": the signing key, whatever `valid` says


class GnuPG:
    """One GnuPG home (an agent keyring, an admin's ~/.gnupg, or a throwaway one for encryption).

    Every gpg process goes through one python-gnupg object (TimedGPG), made on first need, so that a
    run which decrypts nothing never imports python-gnupg.
    """

    def __init__(self, home: Path, *, timeout: float = GPG_TIMEOUT, binary: str = "gpg"):
        self.home = home
        self.timeout = timeout
        self.binary = binary
        self._link: Path | None = None
        self._gpg: TimedGPG | None = None

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

    def driver(self) -> TimedGPG:
        """The python-gnupg object for this home (it runs gpg once, for its version, when made)."""
        if self._gpg is None:
            if not self.exists:
                raise SecretError(f"the keyring {self.home} is not a directory")
            from agent.secrets.timedgpg import TimedGPG

            home = self.homedir()
            env = {**DEFAULT_ENV, "GNUPGHOME": home}
            self._gpg = TimedGPG(home, timeout=self.timeout, env=env, binary=self.binary, options=_OPTIONS)
        return self._gpg

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
        keys = self._list(secret=True, what=f"cannot list the secret keys in {self.home}")
        ids = {key["keyid"].upper() for key in keys} | {sub[0].upper() for key in keys for sub in key["subkeys"]}
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

    def _list(self, *, secret: bool, what: str, keys: Sequence[str] = ()) -> Any:
        listing = self.driver().list_keys(secret=secret, keys=list(keys) or None)
        if listing.returncode != 0:
            raise SecretError(f"{what}: gpg {_failure(listing)}")
        return listing

    def fingerprints(self, *, secret: bool) -> list[str]:
        """The primary keys' fingerprints, in keyring order."""
        if not self.exists:
            return []
        return [key["fingerprint"] for key in self._list(secret=secret, what="cannot list the keys")]

    def decrypt(self, message: bytes) -> bytes:
        """One gpg process: the message on its stdin, the plaintext from its stdout (at most MAX_DECRYPTED
        bytes: past that gpg is stopped and SecretError raised)."""
        driver = self.driver()
        with driver.capped(MAX_DECRYPTED):
            result = driver.decrypt(message)
        if not result.ok or result.returncode != 0:
            raise SecretError(f"gpg could not decrypt it: {_failure(result)}")
        plaintext: bytes = result.data
        return plaintext

    def encrypt(self, plaintext: bytes, fingerprints: Sequence[str]) -> bytes:
        """Encrypt to exactly these (sub)keys: `FPR!` stops gpg from choosing another subkey."""
        recipients = [f"{fpr}!" for fpr in fingerprints]
        result = self.driver().encrypt(plaintext, recipients, armor=False, extra_args=["--trust-model", "always"])
        if not result.ok or result.returncode != 0:
            raise SecretError(f"cannot encrypt: gpg {_failure(result)}")
        message: bytes = result.data
        return message

    def import_keys(self, data: bytes) -> None:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        result = self.driver().import_keys(data)
        if result.returncode != 0 or not result.count:
            raise SecretError(f"cannot import keys: gpg {_failure(result)}")

    def generate(self, user_id: str) -> str:
        """A new signing primary (ed25519) with an encryption subkey (cv25519), no passphrase: one gpg process."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.home, 0o700)
        name, _, email = user_id.partition(" <")
        gpg = self.driver()
        parameters = gpg.gen_key_input(
            key_type="EDDSA", key_curve="ed25519", key_usage="sign",
            subkey_type="ECDH", subkey_curve="cv25519", subkey_usage="encrypt",
            name_real=name, name_email=email.rstrip(">"), expire_date=0, no_protection=True,
        )  # fmt: skip
        result = gpg.gen_key(parameters)
        if not result.fingerprint or result.returncode != 0:
            raise SecretError(f"cannot generate the host key: gpg {_failure(result)}")
        fingerprint: str = result.fingerprint
        return fingerprint

    def export_public(self, fingerprint: str) -> bytes:
        armored: str = self.driver().export_keys(fingerprint, armor=True)
        if not armored:
            raise SecretError(f"cannot export the public key {fingerprint}: it is not in {self.home}")
        return armored.encode()

    def verify(self, data: bytes, signature: bytes) -> Verification:
        """Check a detached signature over `data` with the keys of this home."""
        gpg = self.driver()
        with tempfile.NamedTemporaryFile(prefix="tend-sig-") as file:
            file.write(signature)
            file.flush()
            result = gpg.verify_data(file.name, data)
        signer = result.pubkey_fingerprint.upper() if result.pubkey_fingerprint else None
        problem = _key_problem(result.key_status)
        if signer is not None and problem is None:
            problem = self._key_state(signer, (result.fingerprint or "").upper())
        valid = bool(result.valid) and result.returncode == 0 and problem is None
        return Verification(valid, result.status or _failure(result), result.key_id, signer, problem)

    def _key_state(self, primary: str, signing: str) -> str | None:
        """Checked here, not trusted from the verify result: 0.4.9 can call a signature by such a key valid."""
        keys = self._list(secret=False, what="cannot list the signing key", keys=[primary])
        for key in (k for k in keys if k["fingerprint"].upper() == primary):
            parts = [key, *(info for kid, info in key.get("subkey_info", {}).items() if signing.endswith(kid))]
            for part in parts:
                if part.get("trust") == "r":
                    return "was revoked"
                expires = part.get("expires") or ""
                if part.get("trust") == "e" or (expires.isdigit() and int(expires) <= time.time()):
                    return "has expired"
        return None

    def release(self) -> None:
        """Drop the short link to a long home (the home itself, and its agent, stay)."""
        self._gpg = None
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


def _key_problem(key_status: str | None) -> str | None:
    """python-gnupg's EXPKEYSIG/REVKEYSIG reading, in the words of a refusal."""
    if not key_status:
        return None
    return "was revoked" if "revoked" in key_status else "has expired"


def _failure(result: Any) -> str:
    """How gpg ended, with its last messages (status lines left out); gpg writes no plaintext on stderr."""
    lines = [ln.strip() for ln in (result.stderr or "").splitlines() if ln.strip() and not ln.startswith("[GNUPG:]")]
    status = f"exited with status {result.returncode}"
    tail = "; ".join(lines[-3:])[-500:]
    return f"{status}: {tail}" if tail else status
