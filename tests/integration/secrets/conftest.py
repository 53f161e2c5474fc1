"""Real gpg for the secrets tests: one temporary GNUPGHOME with three keys, made once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

NO_PASSPHRASE = ("--pinentry-mode", "loopback", "--passphrase", "")


@dataclass(frozen=True)
class Gpg:
    """Runs gpg (argv, never a shell) against one GNUPGHOME."""

    home: str

    def __call__(self, *args: str, input: bytes | None = None) -> bytes:
        argv = ["gpg", "--homedir", self.home, "--batch", "--no-tty", "--trust-model", "always", *args]
        done = subprocess.run(argv, input=input, capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{argv} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def colons(self, *names: str) -> str:
        return self("--with-colons", "--fixed-list-mode", "--list-keys", *names).decode()


@dataclass(frozen=True)
class GpgKey:
    name: str
    fingerprint: str
    encryption_key_id: str


@pytest.fixture(scope="session")
def gpg() -> Iterator[Gpg]:
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    # Short and under /tmp: gpg-agent's socket path breaks past ~100 characters.
    home = tempfile.mkdtemp(prefix="tend-gpg-", dir="/tmp")
    os.chmod(home, 0o700)
    try:
        yield Gpg(home)
    finally:
        if shutil.which("gpgconf"):
            subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True, timeout=30)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def keys(gpg: Gpg) -> dict[str, GpgKey]:
    """web1 and db1 never expire; alice's primary expires in a year and her encryption subkey in 30 days.

    gpg 2.2 refuses "+30d" as an expiry for --quick-add-key ("Invalid value"); "30d" works.
    """
    made = {}
    for name, primary_expiry, subkey_expiry in (
        ("web1", "never", "never"),
        ("db1", "never", "never"),
        ("alice", "1y", "30d"),
    ):
        uid = f"{name} <{name}@test>"
        gpg(*NO_PASSPHRASE, "--quick-gen-key", uid, "ed25519", "sign", primary_expiry)
        fingerprint = _field(gpg.colons(f"={uid}"), "fpr", 9)
        gpg(*NO_PASSPHRASE, "--quick-add-key", fingerprint, "cv25519", "encr", subkey_expiry)
        made[name] = GpgKey(name, fingerprint, _field(gpg.colons(fingerprint), "sub", 4))
    return made


def _field(colons: str, record: str, index: int) -> str:
    [value] = [line.split(":")[index] for line in colons.splitlines() if line.startswith(record + ":")][:1]
    return value
