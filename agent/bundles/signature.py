"""Verifies that a commit is signed by a key the agent's own config trusts (never the repository)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.bundles.git import git
from agent.errors import BundleError
from agent.secrets.gpg import GnuPG


@dataclass(frozen=True, slots=True)
class Signature:
    commit: str
    signer: str  # the full fingerprint of the signing key's primary key


def normalise(fingerprint: str) -> str:
    return "".join(fingerprint.split()).upper()


def verify_commit(mirror: Path, commit: str, trusted: list[str], agent_keyring: GnuPG) -> Signature:
    """The commit's signature, when good and made by a key whose fingerprint is in `trusted`.

    Candidate public keys come from the agent keyring and from the commit's own keys/admins/*.asc;
    only the pinned fingerprints decide whether a signature counts.
    """
    pinned = {normalise(f) for f in trusted}
    if not pinned:
        raise BundleError("no trusted_signers in the agent config: refusing to deploy unverifiable code")
    keyring = GnuPG.temporary()
    try:
        for fingerprint in agent_keyring.fingerprints(secret=False):
            if normalise(fingerprint) in pinned:
                keyring.import_keys(agent_keyring.export_public(fingerprint))
        listing = git(["ls-tree", "--name-only", f"{commit}:keys/admins"], git_dir=mirror, check=False)
        for name in listing.stdout.decode(errors="replace").split():
            if name.endswith(".asc"):
                blob = git(["show", f"{commit}:keys/admins/{name}"], git_dir=mirror, check=False)
                if blob.ok:
                    keyring.run(["--import"], input=blob.stdout)
        result = git(
            ["verify-commit", "--raw", commit],
            git_dir=mirror,
            env={"GNUPGHOME": keyring.homedir()},
            check=False,
        )
    finally:
        keyring.close(remove=True)
    status = result.stderr.decode(errors="replace")
    signer = _valid_signer(status)
    short = commit[:12]
    if signer is None:
        reason = "not signed" if "[GNUPG:]" not in status else "no good signature by a known key"
        raise BundleError(f"refusing commit {short}: {reason}")
    if signer not in pinned:
        raise BundleError(f"refusing commit {short}: signed by {signer}, which is not in trusted_signers")
    return Signature(commit, signer)


def _valid_signer(status: str) -> str | None:
    """The primary fingerprint of a VALIDSIG whose key is neither expired nor revoked."""
    lines = [line.split() for line in status.splitlines() if line.startswith("[GNUPG:] ")]
    if any(parts[1] in ("EXPKEYSIG", "REVKEYSIG", "BADSIG", "ERRSIG") for parts in lines if len(parts) > 1):
        return None
    for parts in lines:
        if len(parts) > 2 and parts[1] == "VALIDSIG":
            return normalise(parts[-1])
    return None
