"""`tend pull` refuses a bad signature, and a signature by an expired or a revoked key even when that key is
pinned, each with its own reason, and keeps `current` as it was.

Two more signers live in a GNUPGHOME of their own: `old`, whose key was made in 2020 and expired in 2021 (it
signed with gpg's clock set back), and `gone`, whose key keys/admins/ carries revoked.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.bundles.conftest import (
    NO_PASSPHRASE,
    Signer,
    Site,
    _short_home,
    control_repo,
    gpg,
    kill_gpg_agents,
)

BACK_THEN = "20200601T000000"


@dataclass(frozen=True)
class Stale:
    home: Path
    old: Signer  # expired
    gone: Signer  # its public key here is the revoked one
    clock_back: Path  # a gpg.program for git that signs with gpg's clock in 2020


def _fingerprint(home: Path, uid: str) -> str:
    colons = gpg(home, "--with-colons", "--list-keys", f"={uid}").decode()
    return next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="module")
def stale() -> Iterator[Stale]:
    home, scratch = _short_home("tb-x-"), _short_home("tb-r-")
    try:
        gpg(home, *NO_PASSPHRASE, "--faked-system-time", "20200101T000000", "--quick-gen-key",
            "old <old@bundles.test>", "ed25519", "sign", "1y")  # fmt: skip
        old_fpr = _fingerprint(home, "old <old@bundles.test>")
        gpg(home, *NO_PASSPHRASE, "--quick-gen-key", "gone <gone@bundles.test>", "ed25519", "sign", "never")
        gone_fpr = _fingerprint(home, "gone <gone@bundles.test>")
        gone_public = gpg(home, "--armor", "--export", gone_fpr)
        certificate = (home / "openpgp-revocs.d" / f"{gone_fpr}.rev").read_text().replace(":-----", "-----")
        gpg(scratch, "--import", input=gone_public)
        gpg(scratch, "--import", input=certificate.encode())
        revoked = gpg(scratch, "--armor", "--export", gone_fpr).decode()
        clock_back = home / "gpg-2020"
        clock_back.write_text(f'#!/bin/sh\nexec gpg --faked-system-time {BACK_THEN} "$@"\n')
        clock_back.chmod(0o755)
        old = Signer("old", old_fpr, gpg(home, "--armor", "--export", old_fpr).decode())
        yield Stale(home, old, Signer("gone", gone_fpr, revoked), clock_back)
    finally:
        for folder in (home, scratch):
            kill_gpg_agents(folder)
            shutil.rmtree(folder, ignore_errors=True)


def signed_by_stale_key(site: Site, stale: Stale, signer: Signer, *git_options: str) -> str:
    """A commit of the control repo with `signer` in keys/admins/, signed from the stale keys' home."""
    origin = site.origin
    files = control_repo(site.out, f"by {signer.name}\n", admins=(signer,))
    origin.write(files)
    origin.git("add", "-A")
    signing = origin.env["GNUPGHOME"]
    origin.env["GNUPGHOME"] = str(stale.home)
    try:
        origin.git(*git_options, "-c", f"user.signingkey={signer.fingerprint}", "commit", "-S", "-q", "-m", "x")
    finally:
        origin.env["GNUPGHOME"] = signing
    return origin.git("rev-parse", "HEAD")


def assert_refused(site: Site, good: str, *words: str) -> None:
    done = site.agent.tend("pull")
    assert done.returncode == 1, done
    for word in words:
        assert word in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert site.agent.current() == good


def deploy_a_good_commit(site: Site) -> str:
    good = site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n", admins=(site.keys.ops,)))
    assert site.agent.tend("pull").returncode == 0
    return good


def test_a_signature_by_an_expired_key_is_refused(site: Site, stale: Stale) -> None:
    good = deploy_a_good_commit(site)
    site.agent.trust(site.keys.ops.fingerprint, stale.old.fingerprint)
    commit = signed_by_stale_key(site, stale, stale.old, "-c", f"gpg.program={stale.clock_back}")
    assert_refused(
        site, good, f"refusing commit {commit[:12]}: signed by {stale.old.fingerprint}, whose key has expired"
    )


def test_a_signature_by_a_revoked_key_is_refused(site: Site, stale: Stale) -> None:
    good = deploy_a_good_commit(site)
    site.agent.trust(site.keys.ops.fingerprint, stale.gone.fingerprint)
    commit = signed_by_stale_key(site, stale, stale.gone)
    assert_refused(
        site, good, f"refusing commit {commit[:12]}: signed by {stale.gone.fingerprint}, whose key was revoked"
    )


def test_a_commit_altered_after_signing_has_a_bad_signature(site: Site) -> None:
    good = deploy_a_good_commit(site)
    signed = site.origin.commit("honest message", site.keys.ops, {"data/extra.yaml": "x: 1\n"})
    raw = site.origin.git("cat-file", "commit", signed) + "\n"
    forged = subprocess.run(
        ["git", "-C", str(site.origin.path), "hash-object", "-t", "commit", "-w", "--stdin"],
        input=raw.replace("honest message", "forged message"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site.origin.git("update-ref", "refs/heads/main", forged)
    assert_refused(site, good, f"refusing commit {forged[:12]}: bad signature by key", "altered after signing")
