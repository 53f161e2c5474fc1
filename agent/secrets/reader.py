"""Decrypts during a compile, once each, only the values addressed to this host's key: lazily, or all at once
for the values an opaque compile found (`prefetch`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.data.encrypted import EncryptedValue
from agent.errors import SecretError, SecretNotForHost
from agent.secrets.enc import parse_enc
from agent.secrets.gpg import GnuPG
from agent.secrets.packets import recipient_key_ids
from agent.secrets.repo_keys import RepoKeys
from agent.secrets.secret import Secret, placeholder


@dataclass(frozen=True, slots=True)
class SecretRead:
    key: str
    file: str
    ciphertext_sha256: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "file": self.file, "ciphertext_sha256": self.ciphertext_sha256}


class HostSecrets:
    """The compiler's SecretReader for a run: fail closed on anything this host's key cannot read.

    With `placeholders` (an admin's preview, `tend plan --host`), a value this keyring cannot
    read becomes a placeholder instead of an error; nothing is ever decrypted for another key.
    """

    def __init__(self, gnupg: GnuPG | None, keys: Callable[[], RepoKeys], host: str, *, placeholders: bool = False):
        self.gnupg = gnupg
        self.keys = keys
        self.host = host
        self.placeholders = placeholders
        self.reads: list[SecretRead] = []
        self._mine: set[str] | None = None
        self._plain: dict[str, Secret] = {}
        # Decrypted ahead by prefetch, by ciphertext digest: the plaintext (or why gpg failed), and the
        # value it was first found as, until the compile asks for it.
        self._ready: dict[str, bytes | SecretError] = {}
        self._found: dict[str, EncryptedValue] = {}

    def _my_key_ids(self) -> set[str]:
        if self._mine is None:
            self._mine = self.gnupg.secret_key_ids() if self.gnupg is not None else set()
        return self._mine

    def __call__(self, value: EncryptedValue) -> Secret:
        message = parse_enc(value.text, location=value.location, subject=value.key)
        recipients = recipient_key_ids(message, location=value.location, subject=value.key)
        digest = hashlib.sha256(message).hexdigest()
        cached = self._plain.get(digest)
        if cached is not None:
            self._record(SecretRead(value.key, value.file, digest))
            return Secret(cached.reveal(), key=value.key, file=value.file)
        try:
            mine = self._my_key_ids()
        except SecretError as error:
            raise SecretError(f"`{value.key}` ({value.file}): {error.message}", location=value.location) from None
        if not set(recipients) & mine:
            if self.placeholders:
                return placeholder(value.file, value.key)
            raise self._not_mine(value, recipients)
        try:
            plaintext = self._decrypted(digest, message).decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(
                "the decrypted value is not UTF-8 text", location=value.location, subject=value.key
            ) from None
        except SecretError as error:
            raise SecretError(f"`{value.key}` ({value.file}): {error.message}", location=value.location) from None
        secret = Secret(plaintext, key=value.key, file=value.file)
        self._plain[digest] = secret
        self._record(SecretRead(value.key, value.file, digest))
        return secret

    def _decrypted(self, digest: str, message: bytes) -> bytes:
        ready = self._ready.pop(digest, None)
        self._found.pop(digest, None)
        if isinstance(ready, SecretError):
            raise ready
        if ready is not None:
            return ready
        assert self.gnupg is not None
        return self.gnupg.decrypt(message)

    def prefetch(self, values: Sequence[EncryptedValue], jobs: int) -> None:
        """Decrypt now, with up to `jobs` gpg processes at once, those of `values` (what an opaque compile of
        this host's catalog met) that are addressed to this host's key, each distinct message once.

        Nothing else is decrypted. A value that is malformed, not addressed to this host, or that gpg fails
        on is left to the compile that follows, which meets it in order and fails as the lazy path does,
        naming its file and key. Reads are recorded by that compile, as it uses them (see `settle`).
        """
        try:
            mine = self._my_key_ids()
        except SecretError:
            return
        pending: dict[str, bytes] = {}
        for value in values:
            try:
                message = parse_enc(value.text)
                recipients = recipient_key_ids(message)
            except SecretError:
                continue
            digest = hashlib.sha256(message).hexdigest()
            if set(recipients) & mine and digest not in self._plain and digest not in pending:
                pending[digest] = message
                self._found[digest] = value
        if len(pending) < 2 or jobs < 2:
            self._found.clear()
            return
        from concurrent.futures import ThreadPoolExecutor  # a run without secrets never starts a thread

        with ThreadPoolExecutor(max_workers=min(jobs, len(pending)), thread_name_prefix="tend-gpg") as pool:
            self._ready.update(zip(pending, pool.map(self._try_decrypt, pending.values()), strict=True))

    def _try_decrypt(self, message: bytes) -> bytes | SecretError:
        assert self.gnupg is not None
        try:
            return self.gnupg.decrypt(message)
        except SecretError as error:
            return error

    def settle(self) -> None:
        """After the compile: a value prefetched but never used (the catalog took another branch once the
        real values were in) was decrypted all the same, so it is recorded as read; its plaintext is dropped."""
        for digest, value in self._found.items():
            if not isinstance(self._ready.get(digest), SecretError):
                self._record(SecretRead(value.key, value.file, digest))
        self._ready.clear()
        self._found.clear()

    def _record(self, read: SecretRead) -> None:
        if read not in self.reads:
            self.reads.append(read)

    def _not_mine(self, value: EncryptedValue, recipients: list[str]) -> SecretError:
        keys = self.keys()
        names = ", ".join(sorted({keys.name_of(k) for k in recipients}))
        if self.gnupg is None or not self._my_key_ids():
            home = self.gnupg.home if self.gnupg is not None else "the agent keyring"
            return SecretError(
                f"`{value.key}` ({value.file}) needs this host's key, but {home} holds none "
                f"(create it with `tend keys init`); recipients: {names}",
                location=value.location,
            )
        return SecretNotForHost(
            f"`{value.key}` ({value.file}) is not encrypted for {self.host}; recipients: {names}",
            location=value.location,
        )
