"""The pipeline's order on a host: which commit its stage follows, and whether that commit may be applied.

A host's stage is its `environment` fact. The governing pipeline is the stricter of the deployed bundle's
and the candidate's (§8.3). A first stage follows the branch tip; a later stage the newest trusted
release tag; a commit is applied only once released to the stage and every stage before it. A refusal
here never marks the commit bad: it is looked at again on every run, as tags arrive.
"""

from __future__ import annotations

from agent.bundles.git import git
from agent.bundles.pull import DEFAULT_BRANCH
from agent.bundles.store import BundleStore
from agent.errors import CommitRefused, ConfigError
from agent.pipeline import PIPELINE
from agent.pipeline.model import Pipeline, pipeline_from_text, stricter
from agent.pipeline.releases import Releases
from agent.run.request import gather_run_facts
from agent.secrets.gpg import GnuPG
from agent.settings import AgentSettings


class StageGate:
    """The pull's gate (agent.bundles.pull.Gate) for this host's settings."""

    def __init__(self, settings: AgentSettings):
        self.settings = settings

    def choose(self, store: BundleStore, tip: str) -> str:
        current = store.current_commit()
        deployed = pipeline_at(store, current) if current else None
        governing = _stricter(deployed, pipeline_at(store, tip), tip)
        if governing is None:
            return tip
        stage = self._stage(governing)
        keyring = GnuPG(self.settings.state.gnupg)
        pinned = list(self.settings.source.get("trusted_signers") or [])
        branch = self.settings.source.get("branch", DEFAULT_BRANCH)
        try:
            with Releases(store.mirror, pinned, keyring, branch_ref=f"refs/tend/{branch}") as releases:
                return _released(releases, store, deployed, stage, governing)
        finally:
            keyring.release()

    def _stage(self, pipeline: Pipeline) -> str:
        """This host's environment, refused unless it is a stage of `pipeline`."""
        environment = gather_run_facts(self.settings, None).get("environment")
        if environment not in pipeline.after:
            raise CommitRefused(
                f"this host's environment {environment!r} is no stage of {PIPELINE} "
                f"(stages: {', '.join(pipeline.stages)}): refusing to deploy until it is one",
                commit=None,
            )
        return str(environment)


def _released(releases: Releases, store: BundleStore, deployed: Pipeline | None, stage: str, first: Pipeline) -> str:
    """The commit `stage` follows, once its order is proven under the pipeline that governs it."""
    target = releases.target(stage, first)
    if target is None:
        raise CommitRefused(f"no trusted release of {stage} yet: waiting for a signed tag tend/{stage}/N", commit=None)
    if target == store.current_commit():
        return target
    governing = _stricter(deployed, pipeline_at(store, target), target) or first
    if stage not in governing.after:
        raise CommitRefused(f"refusing commit {target[:12]}: its {PIPELINE} has no stage {stage}", commit=target)
    refusal = releases.refusal(target, stage, governing)
    if refusal is not None:
        raise CommitRefused(f"refusing commit {target[:12]} for now: {refusal}", commit=target)
    return target


def _stricter(deployed: Pipeline | None, candidate: Pipeline | None, commit: str) -> Pipeline | None:
    try:
        return stricter(deployed, candidate)
    except ConfigError as error:
        raise CommitRefused(f"refusing commit {commit[:12]}: {error}", commit=commit) from None


def pipeline_at(store: BundleStore, commit: str) -> Pipeline | None:
    """The commit's pipeline.yaml from the mirror; None when it has none, or an invalid one (the converge
    of that commit refuses it as a commit fault, with file:line)."""
    blob = git(["show", f"{commit}:{PIPELINE}"], git_dir=store.mirror, check=False)
    if not blob.ok:
        return None
    try:
        return pipeline_from_text(blob.stdout.decode(errors="replace"))
    except ConfigError:
        return None
