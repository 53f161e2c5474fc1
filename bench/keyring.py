"""Throwaway GnuPG keys for W5 and W6: made in one gpg batch, exported once, cached across runs.

Keys are ed25519 (sign) with a cv25519 subkey (encrypt), no passphrase, as `tend keys init` makes them. A set of
keys lives in a short GnuPG home (gpg-agent's socket path must stay short; long folders are linked from /tmp)
and is cached under the benchmark cache (`keys/<name>/`: the home, and one armored public key per name),
so the ~1,000 keys of W6 are generated once (about 40 s), not at every run.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.secrets.enc import format_enc
from agent.secrets.packets import iter_packets

_TAG_PUBLIC_KEY = 6
_GPG = ["gpg", "--batch", "--no-tty", "--quiet", "--pinentry-mode", "loopback"]
_MAX_HOME = 60
VERSION = "v1"  # bump to regenerate every cached key set


@dataclass(frozen=True, slots=True)
class KeySet:
    """Generated keys: `home` holds the private keys; `public[name]` the armored public key, `subkey[name]` the
    fingerprint of the encryption subkey (what `--recipient FPR!` names)."""

    home: Path
    public: dict[str, bytes]
    subkey: dict[str, str]


def gpg(home: Path, args: Sequence[str], *, input: bytes | None = None) -> bytes:
    with _short(home) as short:
        env = {**os.environ, "GNUPGHOME": str(short)}
        result = subprocess.run(
            [*_GPG, "--homedir", str(short), *args], input=input, capture_output=True, env=env, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(f"gpg {' '.join(args[:2])} failed: {result.stderr.decode(errors='replace')[-500:]}")
    return result.stdout


@contextlib.contextmanager
def _short(home: Path) -> Iterator[Path]:
    if len(str(home)) <= _MAX_HOME:
        yield home
        return
    link_dir = Path(tempfile.mkdtemp(prefix="tb-k-"))
    link = link_dir / "h"
    link.symlink_to(home.absolute())
    try:
        yield link
    finally:
        shutil.rmtree(link_dir, ignore_errors=True)


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent this home started (each home has its own)."""
    with _short(home) as short:
        subprocess.run(["gpgconf", "--homedir", str(short), "--kill", "all"], capture_output=True, check=False)


def generate(home: Path, names: Sequence[str]) -> KeySet:
    """One key per name, in one gpg process; then every public key exported at once and split by key."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    blocks = "".join(
        "%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\n"
        "Subkey-Type: ecdh\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n"
        f"Name-Real: {name}\nExpire-Date: 0\n%commit\n"
        for name in names
    )
    gpg(home, ["--gen-key"], input=blocks.encode())
    return load(home, names)


def load(home: Path, names: Sequence[str]) -> KeySet:
    listing = gpg(home, ["--with-colons", "--list-keys"]).decode()
    subkey: dict[str, str] = {}
    name, last = None, ""
    for line in listing.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            name, last = None, "pub"
        elif fields[0] == "uid" and name is None:
            name = fields[9]
        elif fields[0] in ("sub", "fpr"):
            if fields[0] == "fpr" and last == "sub" and name is not None:
                subkey[name] = fields[9]
            last = fields[0]
    exported = gpg(home, ["--export"])
    starts = [p.offset for p in iter_packets(exported, what="keys") if p.tag == _TAG_PUBLIC_KEY]
    blobs = [exported[a:b] for a, b in zip(starts, [*starts[1:], len(exported)], strict=True)]
    by_uid = {_uid(blob): blob for blob in blobs}
    missing = [n for n in names if n not in by_uid or n not in subkey]
    if missing:
        raise RuntimeError(f"{home}: no key for {missing[:3]}")
    return KeySet(home, {n: armor(by_uid[n]) for n in names}, {n: subkey[n] for n in names})


def _uid(blob: bytes) -> str:
    return next(p.body.decode() for p in iter_packets(blob, what="key") if p.tag == 13)


def cached(cache: Path, label: str, names: Sequence[str]) -> KeySet:
    """The key set `label` from the cache, generated (and cached) when absent or incomplete."""
    home = cache / "keys" / f"{VERSION}-{label}"
    done = home / "complete"
    if done.exists():
        try:
            return load(home, names)
        except RuntimeError:
            pass
    shutil.rmtree(home, ignore_errors=True)
    keys = generate(home, names)
    done.write_text("\n".join(names) + "\n")
    return keys


def encrypt(keys: KeySet, plaintext: bytes, readers: Sequence[str]) -> str:
    """An `ENC[GPG,...]` value readable by exactly these names' encryption subkeys."""
    recipients = [arg for name in readers for arg in ("--recipient", f"{keys.subkey[name]}!")]
    message = gpg(keys.home, ["--trust-model", "always", "--encrypt", *recipients], input=plaintext)
    return format_enc(message)


def armor(data: bytes) -> bytes:
    """ASCII armor (RFC 4880 section 6) of a public key block."""
    text = base64.b64encode(data).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    crc = base64.b64encode(_crc24(data).to_bytes(3, "big")).decode()
    body = "\n".join(
        ["-----BEGIN PGP PUBLIC KEY BLOCK-----", "", *lines, f"={crc}", "-----END PGP PUBLIC KEY BLOCK-----"]
    )
    return (body + "\n").encode()


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF
