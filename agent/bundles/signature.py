"""Verifies that a commit is signed by a key the agent's own config trusts (never the repository).

The signature and the signed payload are read from the commit object itself (`git cat-file commit`:
the `gpgsig` header is the signature, the object without it is what was signed) and checked by
python-gnupg's verify_data in a throwaway keyring: git runs no gpg of its own.

Before a commit is trusted it can make tend read only so much: its object (or a tag object) up to
MAX_OBJECT_BYTES, and only when the pinned keys of the agent keyring cannot tell who signed it, at most
MAX_ADMIN_KEYS files of keys/admins/ of at most MAX_KEY_BYTES each (in name order; larger ones skipped),
imported by one gpg process.
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
MAX_OBJECT_BYTES = 1024 * 1024  # a commit or tag object: headers, signature and message
MAX_ADMIN_KEYS = 64  # keys/admins/*.asc files read from an unverified commit
MAX_KEY_BYTES = 64 * 1024  # an armored public key with its signatures is a few KiB
MAX_LISTING_BYTES = 256 * 1024  # the keys/admins tree object itself


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

    The pinned keys of the agent keyring are tried first; only when none of them made the signature are
    candidate keys read from the commit's keys/admins/ (bounded, see the module). Only the pinned
    fingerprints decide whether a signature counts. A bad signature, an expired or revoked key, an
    unknown key and an untrusted one are each refused with their own reason.
    """
    pinned = {normalise(f) for f in trusted}
    if not pinned:
        raise BundleError("no trusted_signers in the agent config: refusing to deploy unverifiable code")
    short = commit[:12]
    payload, signature = split_signed_commit(read_object(mirror, commit, "commit"))
    if signature is None:
        raise BundleError(f"refusing commit {short}: not signed")
    if not signature.startswith(PGP_SIGNATURE):
        raise BundleError(
            f"refusing commit {short}: its signature is not OpenPGP (SSH or X.509?), which tend cannot check"
        )
    keyring = GnuPG.temporary()
    try:
        _import_pinned(keyring, agent_keyring, pinned)
        checked = keyring.verify(payload, signature)
        if checked.status == "no public key":
            with contextlib.suppress(SecretError):  # broken admin keys only leave the signer unknown
                keyring.import_keys(b"\n".join(candidate_keys(mirror, commit)))
            checked = keyring.verify(payload, signature)
    finally:
        keyring.close(remove=True)
    return Signature(commit, _trusted_signer(checked, pinned, short))


def read_object(mirror: Path, name: str, kind: str, limit: int = MAX_OBJECT_BYTES) -> bytes:
    """A commit or tag object's raw bytes, refused unread when it is larger than `limit`."""
    size = git(["cat-file", "-s", f"{name}^{{{kind}}}"], git_dir=mirror, check=False)
    if not size.ok:
        raise BundleError(f"refusing {kind} {name[:12]}: not a {kind} of the fetched source")
    if int(size.stdout.decode() or 0) > limit:
        raise BundleError(f"refusing {kind} {name[:12]}: its object is over the limit of {limit:,} bytes")
    return git(["cat-file", kind, name], git_dir=mirror).stdout


def candidate_keys(mirror: Path, commit: str) -> list[bytes]:
    """Up to MAX_ADMIN_KEYS keys/admins/*.asc blobs of at most MAX_KEY_BYTES each, in name order."""
    tree = f"{commit}:keys/admins"
    size = git(["cat-file", "-s", tree], git_dir=mirror, check=False)
    if not size.ok or int(size.stdout.decode() or 0) > MAX_LISTING_BYTES:
        return []
    listing = git(["ls-tree", "-l", "-z", tree], git_dir=mirror, check=False)
    blobs: list[str] = []
    for entry in listing.stdout.split(b"\0"):
        info, _, name = entry.partition(b"\t")
        fields = info.split()
        if len(fields) != 4 or fields[1] != b"blob" or not name.endswith(b".asc"):
            continue
        if fields[3].isdigit() and int(fields[3]) <= MAX_KEY_BYTES:
            blobs.append(fields[2].decode())
        if len(blobs) == MAX_ADMIN_KEYS:
            break
    keys = [git(["cat-file", "blob", blob], git_dir=mirror, check=False) for blob in blobs]
    return [key.stdout for key in keys if key.ok]


def gather_keys(keyring: GnuPG, agent_keyring: GnuPG, pinned: set[str], mirror: Path, commit: str) -> None:
    """The pinned keys of the agent keyring, and the commit's keys/admins/ within the read limits (pinning
    decides later): what release tags are checked against."""
    _import_pinned(keyring, agent_keyring, pinned)
    with contextlib.suppress(SecretError):  # broken admin keys only leave a signer unknown
        keyring.import_keys(b"\n".join(candidate_keys(mirror, commit)))


def _import_pinned(keyring: GnuPG, agent_keyring: GnuPG, pinned: set[str]) -> None:
    """The keys of the agent keyring whose fingerprints are pinned."""
    for fingerprint in agent_keyring.fingerprints(secret=False):
        if normalise(fingerprint) in pinned:
            keyring.import_keys(agent_keyring.export_public(fingerprint))


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
