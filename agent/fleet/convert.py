"""`tend secrets convert`: hiera-eyaml's PKCS7 values re-encrypted, in place, to their derived GPG readers."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.data.encrypted import ENC_PREFIX, EncryptedValue
from agent.data.repo_paths import inside_repository
from agent.errors import SecretError
from agent.fleet.recipients import derive_usage, principals_for
from agent.fleet.secrets_admin import SecretsAdmin
from agent.fleet.yamledit import replace_scalars
from agent.secrets.enc import format_enc
from agent.system import commands, files

OPENSSL_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Pkcs7Keys:
    """hiera-eyaml's keypair (private_key.pkcs7.pem, public_key.pkcs7.pem), kept outside the repository."""

    private: Path
    public: Path

    @classmethod
    def outside(cls, root: Path, private: Path, public: Path) -> Pkcs7Keys:
        for what, path in (("private", private), ("public", public)):
            if inside_repository(path, root):
                raise SecretError(
                    f"the PKCS7 {what} key {path} is inside the repository: keep eyaml's keys outside it "
                    "(a private key in the repository is readable by every host)"
                )
            if not path.is_file():
                raise SecretError(f"no PKCS7 {what} key at {path}")
        return cls(private.resolve(), public.resolve())


@dataclass(frozen=True, slots=True)
class Converted:
    key: str
    line: int | None
    readers: list[str]


def pkcs7_message(value: EncryptedValue) -> bytes | None:
    """The DER bytes of an `ENC[PKCS7,…]` value (eyaml's default, also `ENC[…]` naming no scheme); None
    for any other scheme."""
    compact = "".join(value.text.split())
    inner = compact[len(ENC_PREFIX) :].removesuffix("]")
    scheme, comma, payload = inner.partition(",")
    if not comma:
        scheme, payload = "PKCS7", inner
    if scheme != "PKCS7":
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (ValueError, binascii.Error):
        raise SecretError("bad base64 in ENC[PKCS7,...] value", location=value.location, subject=value.key) from None


def convert_file(admin: SecretsAdmin, file: str, keys: Pkcs7Keys) -> list[Converted]:
    """Re-encrypt every PKCS7 value of `file` to the derived readers of its key; every other byte stays."""
    file = admin.data_file(file)
    datafile = admin.hiera.store.get(file)
    if datafile is None:
        raise SecretError(f"{file} does not exist")
    found = [(value, der) for value in _encrypted(datafile.data) if (der := pkcs7_message(value)) is not None]
    if not found:
        return []
    usage = derive_usage(admin.root, admin.hiera)
    repo_keys = admin._keys()
    replacements: dict[tuple[int, int], str] = {}
    done = []
    for value, der in found:
        readers = usage.readers(file, value.key)
        if not usage.users(file, value.key):
            admin.warn(f"no host uses {value.key} ({file}): it is encrypted to the admins alone")
        principals = principals_for(readers, usage, repo_keys, f"{value.key} ({file})")
        plaintext = _decrypt(der, keys, value)
        replacements[(value.location.line or 0, value.column)] = format_enc(admin._encrypt(principals, plaintext))
        done.append(Converted(value.key, value.location.line, readers))
    path = admin.root / file
    text = replace_scalars(path.read_text(encoding="utf-8"), file, replacements)
    files.write_atomic(path, text.encode(), mode=path.stat().st_mode & 0o7777)
    return done


def _decrypt(der: bytes, keys: Pkcs7Keys, value: EncryptedValue) -> bytes:
    """openssl reads the message on stdin and writes the plaintext on stdout: neither is ever in argv."""
    argv = ["openssl", "smime", "-decrypt", "-binary", "-inform", "DER", "-inkey", str(keys.private)]
    result = commands.run([*argv, "-recip", str(keys.public)], input=der, timeout=OPENSSL_TIMEOUT_S)
    if not result.ok:
        raise SecretError(
            f"openssl cannot decrypt this PKCS7 value with {keys.private}: {result.failure()}",
            location=value.location,
            subject=value.key,
        )
    return result.stdout


def _encrypted(value: Any) -> list[EncryptedValue]:
    if isinstance(value, EncryptedValue):
        return [value]
    if isinstance(value, list):
        return [found for item in value for found in _encrypted(item)]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _encrypted(item)]
    return []
