"""Verifies that a commit is signed by a key the agent's own config trusts (never the repository).

The signature and the signed payload are read from the commit object itself (`git cat-file commit`:
the `gpgsig` header is the signature, the object without it is what was signed) and checked by
python-gnupg's verify_data in a throwaway keyring: git runs no gpg of its own.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from agent.bundles.git import git
from agent.errors import BundleError, SecretError
from agent.secrets.gpg import GnuPG, Verification

SIGNATURE_HEADERS = (b"gpgsig", b"gpgsig-sha256")
PGP_SIGNATURE = b"-----BEGIN PGP SIGNATURE-----"


@dataclass(frozen=True, slots=True)
class Signature:
    commit: str
    signer: str  # the full fingerprint of the signing key's primary key


def normalise(fingerprint: str) -> str:
    return "".join(fingerprint.split()).upper()


def split_signed_commit(raw: bytes) -> tuple[bytes, bytes | None]:
    """The signed payload and the signature of a raw commit object (None when it carries none).

    As git does it: a header line and its continuation lines (one leading space) make one header; the
    signature headers come out of the payload, and the headers end at the first empty line.
    """
    head, blank, body = raw.partition(b"\n\n")
    kept: list[bytes] = []
    signatures: dict[bytes, list[bytes]] = {}
    name = b""
    for line in head.split(b"\n"):
        if not line.startswith(b" "):
            name = line.split(b" ", 1)[0]
            if name in SIGNATURE_HEADERS:
                signatures[name] = [line[len(name) + 1 :]]
                continue
        elif name in SIGNATURE_HEADERS:
            signatures[name].append(line[1:])
            continue
        kept.append(line)
    for name in SIGNATURE_HEADERS:
        if name in signatures:
            return b"\n".join(kept) + blank + body, b"\n".join(signatures[name]) + b"\n"
    return raw, None


def verify_commit(mirror: Path, commit: str, trusted: list[str], agent_keyring: GnuPG) -> Signature:
    """The commit's signature, when good and made by a key whose fingerprint is in `trusted`.

    Candidate public keys come from the agent keyring and from the commit's own keys/admins/*.asc;
    only the pinned fingerprints decide whether a signature counts. A bad signature, an expired or
    revoked key, an unknown key and an untrusted one are each refused with their own reason.
    """
    pinned = {normalise(f) for f in trusted}
    if not pinned:
        raise BundleError("no trusted_signers in the agent config: refusing to deploy unverifiable code")
    short = commit[:12]
    payload, signature = split_signed_commit(git(["cat-file", "commit", commit], git_dir=mirror).stdout)
    if signature is None:
        raise BundleError(f"refusing commit {short}: not signed")
    if not signature.startswith(PGP_SIGNATURE):
        raise BundleError(
            f"refusing commit {short}: its signature is not OpenPGP (SSH or X.509?), which tend cannot check"
        )
    keyring = GnuPG.temporary()
    try:
        gather_keys(keyring, agent_keyring, pinned, mirror, commit)
        checked = keyring.verify(payload, signature)
    finally:
        keyring.close(remove=True)
    return Signature(commit, _trusted_signer(checked, pinned, short))


def gather_keys(keyring: GnuPG, agent_keyring: GnuPG, pinned: set[str], mirror: Path, commit: str) -> None:
    """The pinned keys of the agent keyring, and every key in the commit's keys/admins/ (pinning decides later)."""
    for fingerprint in agent_keyring.fingerprints(secret=False):
        if normalise(fingerprint) in pinned:
            keyring.import_keys(agent_keyring.export_public(fingerprint))
    listing = git(["ls-tree", "--name-only", f"{commit}:keys/admins"], git_dir=mirror, check=False)
    for name in listing.stdout.decode(errors="replace").split():
        if name.endswith(".asc"):
            blob = git(["show", f"{commit}:keys/admins/{name}"], git_dir=mirror, check=False)
            if blob.ok:
                with contextlib.suppress(SecretError):  # a broken admin key only leaves its signer unknown
                    keyring.import_keys(blob.stdout)


def _trusted_signer(checked: Verification, pinned: set[str], short: str) -> str:
    """The signer's primary fingerprint, or the refusal in words."""
    signer = checked.signer
    if signer is not None and checked.key_problem is not None:
        raise BundleError(f"refusing commit {short}: signed by {signer}, whose key {checked.key_problem}")
    if checked.status == "signature bad":
        raise BundleError(f"refusing commit {short}: bad signature by key {checked.key_id} (altered after signing?)")
    if checked.status == "no public key":
        raise BundleError(
            f"refusing commit {short}: no good signature by a known key (key {checked.key_id or 'unknown'} "
            "is neither in the agent keyring nor in the commit's keys/admins/)"
        )
    if not checked.valid or signer is None:
        raise BundleError(f"refusing commit {short}: no good signature ({checked.status})")
    if signer not in pinned:
        raise BundleError(f"refusing commit {short}: signed by {signer}, which is not in trusted_signers")
    return signer
