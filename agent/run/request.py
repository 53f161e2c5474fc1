"""What a run is asked to do, as typed values the CLI and the daemon build, and the facts it runs with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.settings import AgentSettings


@dataclass(frozen=True, slots=True)
class ConvergeRequest:
    """One converge of `repo` as `host` with `facts`.

    `preview`: an admin's look at another host; secrets this keyring cannot read become placeholders.
    `bundle`: the bundle's part of the report (None when applied from a checkout).
    """

    repo: Path
    host: str
    facts: Mapping[str, Any]
    root: Path | None = None
    noop: bool = False
    diffs: bool = False
    tags: frozenset[str] = frozenset()
    detailed_exitcodes: bool = False
    wait: bool = False
    preview: bool = False
    bundle: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CycleRequest:
    """The timer's run (`tend run`, each run of the daemon): pull, then converge the current bundle."""

    detailed_exitcodes: bool = False
    wait: bool = False


@dataclass(frozen=True, slots=True)
class RollbackRequest:
    """An admin's way back: to `to` (a commit of the source), else to the last good bundle."""

    to: str | None = None
    detailed_exitcodes: bool = False
    wait: bool = False


def parse_tags(text: str | None) -> frozenset[str]:
    """`--tags a,b` as a set; empty means every resource."""
    return frozenset(tag.strip() for tag in (text or "").split(",") if tag.strip())


def gather_run_facts(
    settings: AgentSettings,
    repo: Path | None,
    *,
    host: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The facts of a run: the machine, local facts, agent.yaml, the inventory's for `host`, then `overrides`."""
    from agent.facts import gather_facts, load_local_facts, system_facts
    from agent.repo.inventory import load_inventory

    inventory = load_inventory(repo).facts_of(host) if host and repo else None
    return gather_facts(
        system=system_facts(),
        local=load_local_facts(settings.facts_file, settings.facts_dir),
        config={"facts": dict(settings.facts)},
        inventory=inventory,
        host=host,
        overrides=overrides or {},
    )
