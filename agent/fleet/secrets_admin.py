"""What admins do with secrets, on a checkout of the control repository: set, show and re-key values."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agent.data.encrypted import EncryptedValue
from agent.data.hiera import Hiera
from agent.errors import SecretError
from agent.fleet.recipients import (
    derive_usage,
    encrypted_values,
    encryption_key,
    principals_for,
)
from agent.fleet.yamledit import replace_scalars, set_top_level
from agent.location import Location
from agent.secrets.enc import format_enc, format_enc_block, parse_enc
from agent.secrets.gpg import GnuPG
from agent.secrets.packets import recipient_key_ids
from agent.secrets.repo_keys import Principal, RepoKeys, load_repo_keys, refuse_private_keys
from agent.system import files

Warn = Callable[[str], None]


def admin_gnupg() -> GnuPG:
    """The admin's own GnuPG home: GNUPGHOME, else ~/.gnupg."""
    return GnuPG(Path(os.environ.get("GNUPGHOME") or Path.home() / ".gnupg"))


class SecretsAdmin:
    """An admin's secrets work on one repository: its data read once, its public keys, its inventory."""

    def __init__(self, root: Path, warn: Warn):
        refuse_private_keys(root)
        self.root = root
        self.warn = warn
        self.hiera = Hiera(root)

    def _keys(self) -> RepoKeys:
        return load_repo_keys(self.root)

    def _encrypt(self, principals: list[Principal], plaintext: bytes) -> bytes:
        gnupg = GnuPG.temporary()
        try:
            for principal in principals:
                gnupg.import_keys((self.root / principal.file).read_bytes())
            return gnupg.encrypt(plaintext, [encryption_key(p) for p in principals])
        finally:
            gnupg.close(remove=True)

    def data_file(self, file: str) -> str:
        """A repository-relative data file inside one of the hierarchy's datadirs."""
        path = PurePosixPath(file)
        if path.is_absolute() or ".." in path.parts or path.suffix not in (".yaml", ".yml", ".eyaml"):
            raise SecretError(f"{file}: give a YAML data file relative to the repository, like hieradata/common.yaml")
        modules = (self.hiera.modules.config(name) for name in self.hiera.modules.names())
        configs = [self.hiera.config, *(config for config in modules if config is not None)]
        datadirs = sorted({level.datadir for config in configs for level in config.levels})
        if not any(path.is_relative_to(d) for d in datadirs):
            raise SecretError(f"{file} is in no datadir of hiera.yaml ({', '.join(datadirs)})")
        return str(path)

    def set(self, file: str, key: str, plaintext: str) -> list[str]:
        """Encrypt `plaintext` to the derived readers of (file, key) and write it in place; the readers."""
        file = self.data_file(file)
        if not plaintext:
            raise SecretError("the value is empty")
        self.hiera.store.inject(file, key, EncryptedValue("ENC[GPG,]", Location(file), key))
        usage = derive_usage(self.root, self.hiera)
        readers = usage.readers(file, key)
        if not usage.users(file, key):
            self.warn(f"no host uses {key} ({file}): it is encrypted to the admins alone")
        principals = principals_for(readers, usage, self._keys(), f"{key} ({file})")
        message = self._encrypt(principals, plaintext.encode())
        path = self.root / file
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        files.write_atomic(path, set_top_level(text, file, key, format_enc_block(message)).encode(), mode=mode)
        return readers

    def show(self, file: str, key: str) -> str:
        datafile = self.hiera.store.get(self.data_file(file))
        value = datafile.data.get(key) if datafile else None
        if not isinstance(value, EncryptedValue):
            raise SecretError(f"{file} has no encrypted value for '{key}'")
        gnupg = admin_gnupg()
        message = parse_enc(value.text, location=value.location, subject=key)
        if not set(recipient_key_ids(message)) & gnupg.secret_key_ids():
            raise SecretError(f"`{key}` ({file}) is not encrypted for any key in {gnupg.home}", location=value.location)
        return gnupg.decrypt(message).decode("utf-8")

    def differences(self) -> list[Rekey]:
        """Every value whose recipients differ from its derived readers."""
        usage = derive_usage(self.root, self.hiera)
        keys = self._keys()
        out = []
        for value in encrypted_values(self.root, self.hiera):
            message = parse_enc(value.text, location=value.location, subject=value.key)
            current = recipient_key_ids(message, location=value.location, subject=value.key)
            readers = usage.readers(value.file, value.key)
            principals = principals_for(readers, usage, keys, f"{value.key} ({value.file})")
            wanted = {encryption_key(p)[-16:] for p in principals}
            if not usage.users(value.file, value.key):
                self.warn(f"no host uses {value.key} ({value.file}): it is for the admins alone")
            if set(current) != wanted:
                now = sorted({keys.name_of(k) for k in current})
                out.append(Rekey(value, message, now, readers, principals))
        return out

    def rekey(self, changes: list[Rekey]) -> None:
        """Re-encrypt the values that differ, with the admin's key; every other byte stays as it was."""
        gnupg = admin_gnupg()
        mine = gnupg.secret_key_ids()
        by_file: dict[str, dict[tuple[int, int], str]] = {}
        for change in changes:
            value = change.value
            if not set(recipient_key_ids(change.message)) & mine:
                raise SecretError(
                    f"`{value.key}` ({value.file}) is not encrypted for any key in {gnupg.home}: "
                    "an admin who can read it must re-key it",
                    location=value.location,
                )
            plaintext = gnupg.decrypt(change.message)
            new = format_enc(self._encrypt(change.principals, plaintext))
            by_file.setdefault(value.file, {})[(value.location.line or 0, value.column)] = new
        for file, replacements in by_file.items():
            path = self.root / file
            text = replace_scalars(path.read_text(encoding="utf-8"), file, replacements)
            files.write_atomic(path, text.encode(), mode=path.stat().st_mode & 0o7777)


@dataclass(frozen=True, slots=True)
class Rekey:
    value: EncryptedValue
    message: bytes
    readers_now: list[str]
    readers_wanted: list[str]
    principals: list[Principal]
