"""Control repositories for W8-W10 as admins keep them: git commits and release tags, signed by a bench key
(bench/keyring.py) or not, with no global or system git configuration in the way."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench import keyring


def fingerprint(keys: keyring.KeySet, name: str) -> str:
    """The primary key's fingerprint of `name` (what trusted_signers and --trusted-signer pin)."""
    listing = keyring.gpg(keys.home, ["--with-colons", "--list-keys", name]).decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


class Repo:
    """A work tree at `path`; commits and tags signed by `signer` of `keys` when given."""

    def __init__(self, path: Path, keys: keyring.KeySet | None = None, signer: str = "ops"):
        self.path = path
        self.env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
        self.ident = ["-c", "user.name=ops", "-c", "user.email=ops@bench"]
        self.signing = keys is not None
        if keys is not None:
            self.env["GNUPGHOME"] = str(keys.home)
            self.ident += ["-c", f"user.signingkey={fingerprint(keys, signer)}"]
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.path), *self.ident, *args], env=self.env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def commit(self, message: str) -> str:
        """Everything in the work tree, committed; returns the commit id."""
        self.git("add", "-A")
        self.git("commit", "-q", *(["-S"] if self.signing else []), "-m", message)
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, commit: str) -> None:
        self.git("tag", "-s" if self.signing else "-a", "-m", f"release {name}", name, commit)
