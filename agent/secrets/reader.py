"""Decrypts during a compile, lazily and once each, only the values addressed to this host's key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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
        assert self.gnupg is not None
        try:
            plaintext = self.gnupg.decrypt(message).decode("utf-8")
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
