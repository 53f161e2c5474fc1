"""What the admin commands (promote, fleet) share: the trusted signers, the admin's keyring, the evidence."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.bundles.revision import git_dir_of
from agent.bundles.signature import normalise
from agent.errors import ConfigError
from agent.formats import did_you_mean
from agent.location import Location
from agent.pipeline import promote
from agent.pipeline.evidence import HostEvidence, reader_for
from agent.pipeline.fleetview import FleetRow, fleet_rows
from agent.pipeline.model import EvidenceSource, Pipeline, hosts_by_stage, load_pipeline, parse_source
from agent.pipeline.promote import Decision
from agent.pipeline.releases import Releases
from agent.repo.inventory import load_inventory
from agent.secrets.gpg import GnuPG
from agent.settings import AgentSettings

DEFAULT_BRANCH = "main"


def trusted_signers(settings: AgentSettings, extra: Iterable[str]) -> set[str]:
    """The pinned fingerprints: agent.yaml's source.trusted_signers and any given on the command line."""
    return {normalise(f) for f in [*(settings.source.get("trusted_signers") or []), *extra]}


def admin_keyring(home: Path | None) -> GnuPG:
    """--gnupghome, else $GNUPGHOME, else ~/.gnupg: the admin's own keys."""
    chosen = home or (Path(os.environ["GNUPGHOME"]) if os.environ.get("GNUPGHOME") else Path.home() / ".gnupg")
    return GnuPG(chosen)


def branch_ref(settings: AgentSettings, branch: str | None) -> str:
    return f"refs/heads/{branch or settings.source.get('branch') or DEFAULT_BRANCH}"


def evidence_source(given: str | None, pipeline: Pipeline | None) -> EvidenceSource:
    """--evidence, else pipeline.yaml's evidence.source."""
    if given:
        return parse_source(given, Location("--evidence"))
    if pipeline is not None and pipeline.evidence.source is not None:
        return pipeline.evidence.source
    where = pipeline.where() if pipeline else Location("pipeline.yaml")
    raise ConfigError("no evidence: give --evidence prometheus=URL or reports=DIR, or evidence.source", location=where)


def read_evidence(source: EvidenceSource, hosts: Iterable[str]) -> Mapping[str, HostEvidence]:
    return reader_for(source).read(sorted(hosts))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Examined:
    """A promotion looked at: the decision, where its evidence came from, and the repository's git dir."""

    decision: Decision
    source: EvidenceSource | None
    git_dir: Path
    pinned: set[str]


def examine_promotion(
    repo: Path,
    settings: AgentSettings,
    stage: str,
    *,
    commit: str | None,
    evidence: str | None,
    extra_trusted: Iterable[str],
    keyring: GnuPG,
    branch: str | None,
    now: datetime,
) -> Examined:
    """Everything `tend promote` checks before it signs: the stage, the commit, the order, the evidence."""
    pipeline = load_pipeline(repo)
    if pipeline is None:
        raise ConfigError("no pipeline.yaml: there are no stages to promote to", location=Location(str(repo)))
    if stage not in pipeline.after:
        hint = did_you_mean(stage, pipeline.stages)
        raise ConfigError(
            f"unknown stage '{stage}'{hint} (stages: {', '.join(pipeline.stages)})", location=pipeline.where()
        )
    members = hosts_by_stage(pipeline, load_inventory(repo).hosts)
    git_dir = git_dir_of(repo)
    pinned = trusted_signers(settings, extra_trusted)
    if not pinned:
        raise ConfigError(
            "no trusted signers: give --trusted-signer FPR, or source.trusted_signers in agent.yaml (--config)"
        )
    with Releases(git_dir, pinned, keyring, branch_ref=branch_ref(settings, branch)) as releases:
        chosen = (
            promote.resolve_commit(git_dir, commit)
            if commit
            else promote.default_commit(git_dir, releases, pipeline, stage)
        )
        followed = pipeline.after[stage]
        source = evidence_source(evidence, pipeline) if followed else None
        hosts = [host for name in followed for host in members[name]]
        found = read_evidence(source, hosts) if source else {}
        decision = promote.decide(pipeline, stage, chosen, releases, members, found, now)
    return Examined(decision, source, git_dir, pinned)


def fleet_view(
    repo: Path,
    settings: AgentSettings,
    *,
    evidence: str | None,
    extra_trusted: Iterable[str],
    keyring: GnuPG,
    branch: str | None,
    now: datetime,
) -> tuple[list[FleetRow], list[str]]:
    """The rows of `tend fleet`, and warnings (whether a commit is its stage's release needs trust and tags)."""
    pipeline = load_pipeline(repo)
    inventory = load_inventory(repo)
    found = read_evidence(evidence_source(evidence, pipeline), inventory.hosts)
    warnings = []
    pinned = trusted_signers(settings, extra_trusted)
    git_dir = _git_dir(repo) if pipeline and pinned else None
    if pipeline is not None and git_dir is None:
        warnings.append(
            "RELEASED is unknown: give --trusted-signer FPR (or --config) in a git checkout of the repository"
        )
    if git_dir is None:
        return fleet_rows(inventory.hosts, found, now, pipeline=pipeline), warnings
    with Releases(git_dir, pinned, keyring, branch_ref=branch_ref(settings, branch)) as releases:
        return fleet_rows(inventory.hosts, found, now, pipeline=pipeline, releases=releases), warnings


def _git_dir(repo: Path) -> Path | None:
    try:
        return git_dir_of(repo)
    except ConfigError:
        return None
