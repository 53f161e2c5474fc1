"""What a run is asked to do, as typed values the CLI and the daemon build, and the facts it runs with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.settings import AgentSettings

if TYPE_CHECKING:
    from agent.catalog.cache import CompileCache
    from agent.repo.inventory import Inventory


@dataclass(frozen=True, slots=True)
class ConvergeRequest:
    """One converge of `repo` as `host` with `facts`.

    `preview`: an admin's look at another host; secrets this keyring cannot read become placeholders.
    `bundle`: the bundle's part of the report (None when applied from a checkout). `only`: a watch
    correction of these resources and of those their changes refresh (its report's mode is `watch`; like
    `--tags`, it records and undoes nothing else, §8.1). `private_keys`: the files of a bundle already
    found holding private keys when it was read whole for its digest (None: the converge scans it, §8.7).
    `tree`: the digest of `repo`'s content when the caller has it (a bundle's), for the compile cache (§8.19).
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
    only: frozenset[str] | None = None
    private_keys: tuple[str, ...] | None = None
    tree: str | None = None


@dataclass(frozen=True, slots=True)
class CycleRequest:
    """The timer's run (`tend run`, each run of the daemon): pull, then converge the current bundle.

    `at`: the host-local time the run windows are judged at (None: now; the daemon gives its clock's).
    """

    detailed_exitcodes: bool = False
    wait: bool = False
    at: datetime | None = None


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
    warn: Callable[[str], None] = lambda text: None,
    cache: CompileCache | None = None,
) -> Mapping[str, Any]:
    """The facts of a run: the machine, local facts, agent.yaml, the inventory's for `host`, then `overrides`.

    `warn` takes what is wrong but not fatal (a facts executable tend will not run); `cache`, the compile
    cache, keeps the checked inventory."""
    from agent.facts import gather_facts, load_local_facts, system_facts
    from agent.facts.node import pin_to_inventory
    from agent.repo.inventory import load_inventory

    inventory = None if repo is None else load_inventory(repo) if cache is None else _cached_inventory(repo, cache)
    facts = gather_facts(
        system=system_facts(),
        # Executables in facts.d never run for an inventory compile (--host): the inventory gives its facts.
        local=load_local_facts(settings.facts_file, settings.facts_dir, warn=None if host else warn),
        config={"facts": dict(settings.facts)},
        inventory=inventory.facts_of(host) if host and inventory else None,
        host=host,
        overrides=overrides or {},
    )
    own = str(facts.get("hostname", ""))
    if host is None and inventory is not None and own in inventory.hosts:
        # A host compiles with the node variables its secrets' readers were derived from.
        facts, warnings = pin_to_inventory(facts, inventory.hosts[own], own)
        for warning in warnings:
            warn(warning)
    return facts


def _cached_inventory(repo: Path, cache: CompileCache) -> Inventory:
    from agent.catalog.inventory import cached_inventory  # only commands with a compile cache import it

    return cached_inventory(repo, cache)
