"""Release tags `tend/<stage>/<n>`: signed annotated tags, trusted only when signed by a pinned fingerprint.

A tag object is read with `git cat-file tag` and split as git does it: the OpenPGP signature is the tail
of the message, the object before it is what was signed; python-gnupg's verify_data checks it in a
throwaway keyring, so git runs no gpg of its own. Unsigned tags, tags signed by a key that is not
pinned, tags whose own `tag` header names another ref (a signed tag copied to another stage) and tags of
anything but a commit are ignored entirely, numbering included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agent.bundles.git import git
from agent.bundles.signature import PGP_SIGNATURE, gather_keys, normalise
from agent.errors import HostError
from agent.pipeline.model import Pipeline
from agent.secrets.gpg import GnuPG

TAGS = "refs/tags/tend/"
_REF = re.compile(r"^refs/tags/tend/([A-Za-z0-9][A-Za-z0-9_-]*)/([1-9][0-9]{0,17})$")


@dataclass(frozen=True, slots=True)
class Release:
    """A trusted release: commit `commit` released to `stage` as number `number`, signed by `signer`."""

    stage: str
    number: int
    commit: str
    signer: str
    message: str

    @property
    def tag(self) -> str:
        return tag_name(self.stage, self.number)


@dataclass(frozen=True, slots=True)
class _Candidate:
    stage: str
    number: int
    ref: str
    commit: str  # what the tag points at, peeled


def tag_name(stage: str, number: int) -> str:
    return f"tend/{stage}/{number}"


def split_signed_tag(raw: bytes) -> tuple[bytes, bytes | None]:
    """The signed payload and the signature of a raw tag object (None when unsigned): the signature
    starts at the first line of the message that opens an OpenPGP signature, and runs to the end."""
    head, blank, body = raw.partition(b"\n\n")
    offset = len(head) + len(blank)
    for line in body.splitlines(keepends=True):
        if line.startswith(PGP_SIGNATURE):
            return raw[:offset], raw[offset:]
        offset += len(line)
    return raw, None


def tag_headers(payload: bytes) -> dict[str, str]:
    """The headers of a tag object (object, type, tag, tagger), each once."""
    head = payload.partition(b"\n\n")[0].decode(errors="replace")
    return dict(line.split(" ", 1) for line in head.splitlines() if " " in line)


def tag_message(payload: bytes) -> str:
    return payload.partition(b"\n\n")[2].decode(errors="replace")


class Releases:
    """The trusted release tags of one repository (a host's mirror or an admin's checkout), read lazily.

    `pinned` are the trusted fingerprints (the agent's own config, never the repository); candidate
    public keys come from `keyring` (the agent's, or an admin's) and from keys/admins/ of the tagged
    commit and of `branch_ref`. Each tag is verified at most once; close() removes the throwaway keyring.
    """

    def __init__(self, git_dir: Path, pinned: Iterable[str], keyring: GnuPG, *, branch_ref: str):
        self.git_dir = git_dir
        self.pinned = {normalise(f) for f in pinned}
        self.keyring = keyring
        self.branch_ref = branch_ref
        self._scratch: GnuPG | None = None
        self._keys_of: set[str] = set()
        self._checked: dict[str, Release | None] = {}
        self._candidates = self._list()

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.close(remove=True)
            self._scratch = None

    def __enter__(self) -> Releases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def branch_tip(self) -> str | None:
        done = git(["rev-parse", "--verify", "--quiet", f"{self.branch_ref}^{{commit}}"], git_dir=self.git_dir,
                   check=False)  # fmt: skip
        return done.stdout.decode().strip() or None if done.ok else None

    def on_branch(self, commit: str) -> bool:
        if self.branch_tip() is None:
            return False
        done = git(["merge-base", "--is-ancestor", commit, self.branch_ref], git_dir=self.git_dir, check=False)
        return done.returncode == 0

    def of(self, stage: str) -> list[Release]:
        """Every trusted release of `stage`, newest (highest number) first."""
        found = (self._trusted(c) for c in self._candidates if c.stage == stage)
        return [release for release in found if release is not None]

    def newest(self, stage: str) -> Release | None:
        """The newest trusted release of `stage`: the highest number among trusted tags."""
        for candidate in self._candidates:
            if candidate.stage == stage:
                release = self._trusted(candidate)
                if release is not None:
                    return release
        return None

    def carries(self, commit: str, stage: str) -> Release | None:
        """The newest trusted release tag of `stage` on exactly `commit`."""
        for candidate in self._candidates:
            if candidate.stage == stage and candidate.commit == commit:
                release = self._trusted(candidate)
                if release is not None:
                    return release
        return None

    def released(self, commit: str, stage: str, pipeline: Pipeline) -> bool:
        """Released to a first stage: on the configured branch, or a trusted tag of that stage on it;
        to another stage: a trusted tag of that stage on it."""
        if self.carries(commit, stage) is not None:
            return True
        return pipeline.first(stage) and self.on_branch(commit)

    def missing(self, commit: str, stage: str, pipeline: Pipeline) -> str | None:
        """The first of `stage` and every stage before it (nearest first) that `commit` was never released to."""
        for name in [stage, *pipeline.before(stage)]:
            if not self.released(commit, name, pipeline):
                return name
        return None

    def refusal(self, commit: str, stage: str, pipeline: Pipeline) -> str | None:
        """Why a host of `stage` may not apply `commit` ("C was never released to staging"), or None."""
        gap = self.missing(commit, stage, pipeline)
        if gap is None:
            return None
        where = f" (it is not on {self.branch_ref})" if pipeline.first(gap) else ""
        return f"{commit[:12]} was never released to {gap}{where}"

    def target(self, stage: str, pipeline: Pipeline) -> str | None:
        """The commit hosts of `stage` follow: the branch tip for a first stage, else the newest release."""
        if pipeline.first(stage):
            return self.branch_tip()
        newest = self.newest(stage)
        return newest.commit if newest else None

    def next_number(self, stage: str) -> int:
        """One past the newest trusted release, skipping numbers an ignored tag already holds."""
        newest = self.newest(stage)
        number = newest.number + 1 if newest else 1
        taken = {c.number for c in self._candidates if c.stage == stage}
        while number in taken:
            number += 1
        return number

    def _list(self) -> list[_Candidate]:
        """Every tend/<stage>/<n> ref of an annotated tag, newest number first."""
        listing = git(["for-each-ref", "--format=%(refname) %(objecttype) %(*objecttype) %(*objectname)", TAGS],
                      git_dir=self.git_dir).stdout.decode()  # fmt: skip
        found = []
        for line in listing.splitlines():
            parts = line.split()
            match = _REF.match(parts[0]) if parts else None
            if match and parts[1:3] == ["tag", "commit"] and len(parts) == 4:
                found.append(_Candidate(match.group(1), int(match.group(2)), parts[0], parts[3]))
        return sorted(found, key=lambda c: (c.stage, -c.number))

    def _trusted(self, candidate: _Candidate) -> Release | None:
        if candidate.ref not in self._checked:
            self._checked[candidate.ref] = self._verify(candidate)
        return self._checked[candidate.ref]

    def _verify(self, candidate: _Candidate) -> Release | None:
        raw = git(["cat-file", "tag", candidate.ref], git_dir=self.git_dir).stdout
        payload, signature = split_signed_tag(raw)
        headers = tag_headers(payload)
        own_name = tag_name(candidate.stage, candidate.number)
        if signature is None or headers.get("tag") != own_name or headers.get("type") != "commit":
            return None
        if headers.get("object") != candidate.commit or not self.pinned:
            return None
        checked = self._keys(candidate.commit).verify(payload, signature)
        signer = checked.signer
        if not checked.valid or checked.key_problem is not None or signer is None or signer not in self.pinned:
            return None
        return Release(candidate.stage, candidate.number, candidate.commit, signer, tag_message(payload))

    def _keys(self, commit: str) -> GnuPG:
        """The throwaway keyring, holding the pinned keys and keys/admins/ of every commit looked at."""
        if self._scratch is None:
            self._scratch = GnuPG.temporary()
            tip = self.branch_tip()
            if tip is not None:
                self._gather(tip)
        self._gather(commit)
        return self._scratch

    def _gather(self, commit: str) -> None:
        if commit in self._keys_of or self._scratch is None:
            return
        self._keys_of.add(commit)
        try:
            gather_keys(self._scratch, self.keyring, self.pinned, self.git_dir, commit)
        except HostError:
            return  # a commit the mirror lacks has no admin keys to offer
