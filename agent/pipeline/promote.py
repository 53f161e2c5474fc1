"""`tend promote`: check the order and the evidence, then write the signed annotated tag tend/<stage>/<n+1>."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.bundles.git import git
from agent.bundles.signature import normalise
from agent.errors import ConfigError, HostError, TendError
from agent.pipeline.assess import Assessment, assess
from agent.pipeline.evidence import HostEvidence
from agent.pipeline.model import EvidenceSource, Pipeline
from agent.pipeline.releases import Releases, tag_name
from agent.secrets.gpg import GnuPG


@dataclass(frozen=True, slots=True)
class Decision:
    """What promote found: the commit, the order refusals, the evidence, and the tag it would write."""

    stage: str
    commit: str
    order: tuple[str, ...]  # "C was never released to staging", …
    assessment: Assessment
    number: int

    @property
    def ok(self) -> bool:
        return not self.order and self.assessment.ok

    @property
    def tag(self) -> str:
        return tag_name(self.stage, self.number)

    def message(self, source: EvidenceSource | None, now: datetime) -> str:
        """The tag message: what was released where, and the evidence summary."""
        head = f"tend: release {self.commit} to {self.stage} ({self.tag})"
        where = str(source) if source else "no evidence source"
        summary = f"Evidence from {where} at {now.isoformat(timespec='seconds')}:"
        return "\n".join([head, "", summary, *self.assessment.lines(), ""])


def resolve_commit(git_dir: Path, revision: str) -> str:
    done = git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], git_dir=git_dir, check=False)
    if not done.ok:
        raise ConfigError(f"{revision!r} is not a commit of this repository", subject="promote")
    return done.stdout.decode().strip()


def default_commit(git_dir: Path, releases: Releases, pipeline: Pipeline, stage: str) -> str:
    """The newest commit released to every stage `stage` directly follows (by commit time)."""
    followed = pipeline.after[stage]
    if not followed:
        tip = releases.branch_tip()
        if tip is None:
            raise ConfigError(f"no {releases.branch_ref} in this repository: give COMMIT", subject="promote")
        return tip
    candidates: set[str] = set()
    for other in followed:
        candidates.update(release.commit for release in releases.of(other))
        tip = releases.branch_tip() if pipeline.first(other) else None
        candidates.update([tip] if tip else [])
    eligible = [c for c in candidates if all(releases.missing(c, other, pipeline) is None for other in followed)]
    if not eligible:
        names = " and ".join(followed)
        raise ConfigError(f"no commit is released to {names} yet: nothing to promote to {stage}", subject="promote")
    listing = git(["show", "-s", "--format=%ct %H", *sorted(eligible)], git_dir=git_dir).stdout.decode()
    return max((int(t), sha) for t, sha in (line.split() for line in listing.splitlines()))[1]


def decide(
    pipeline: Pipeline,
    stage: str,
    commit: str,
    releases: Releases,
    members: Mapping[str, list[str]],
    evidence: Mapping[str, HostEvidence],
    now: datetime,
) -> Decision:
    """The order (released to every earlier stage) and the evidence (of the stages directly followed)."""
    order = []
    for followed in pipeline.after[stage]:
        gap = releases.refusal(commit, followed, pipeline)
        if gap is not None and gap not in order:
            order.append(gap)
    assessment = assess(pipeline, stage, commit, members, evidence, now)
    return Decision(stage, commit, tuple(order), assessment, releases.next_number(stage))


def signing_key(home: GnuPG, pinned: set[str], wanted: str | None) -> tuple[str, str]:
    """The admin's signing key (fingerprint, user ID): `wanted`, else the one secret key that is trusted."""
    keys = home.driver().list_keys(secret=True)
    if keys.returncode != 0:
        raise HostError(f"cannot list the secret keys in {home.home}", subject="promote")
    found = {key["fingerprint"].upper(): (key.get("uids") or ["tend admin <admin@tend.invalid>"])[0] for key in keys}
    choice = [normalise(wanted)] if wanted else sorted(fpr for fpr in found if fpr in pinned)
    if wanted and choice[0] not in found:
        raise ConfigError(f"no secret key {wanted} in {home.home}", subject="promote")
    if len(choice) != 1:
        what = "none of" if not choice else "several of"
        raise ConfigError(
            f"{what} the secret keys in {home.home} are trusted signers: give --key FINGERPRINT "
            "(hosts ignore tags signed by keys not in their trusted_signers)",
            subject="promote",
        )
    if choice[0] not in pinned:
        raise ConfigError(f"key {choice[0]} is not a trusted signer: hosts would ignore its tags", subject="promote")
    return choice[0], found[choice[0]]


def write_tag(git_dir: Path, decision: Decision, message: str, home: GnuPG, key: tuple[str, str]) -> None:
    """`git tag -s` with the admin's GnuPG home; the tagger is the key's user ID."""
    name, _, email = key[1].partition(" <")
    env = {"GNUPGHOME": home.homedir(), "GIT_COMMITTER_NAME": name or "tend", "GIT_COMMITTER_EMAIL": email.rstrip(">")}
    with tempfile.NamedTemporaryFile("w", prefix="tend-tag-", suffix=".txt", encoding="utf-8") as file:
        file.write(message)
        file.flush()
        try:
            git(["tag", "-s", "-u", key[0], "-F", file.name, decision.tag, decision.commit], git_dir=git_dir, env=env)
        except TendError as error:
            error.message = f"cannot write the tag {decision.tag}: {error.message}"
            raise


def push_tag(git_dir: Path, remote: str, tag: str) -> None:
    """Push the one tag, with the admin's own HOME and ssh agent (the remote is theirs)."""
    passed = {k: os.environ[k] for k in ("HOME", "SSH_AUTH_SOCK", "GIT_SSH_COMMAND") if k in os.environ}
    git(["push", "--quiet", remote, f"refs/tags/{tag}"], git_dir=git_dir, env=passed)
