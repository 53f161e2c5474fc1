"""Providers, one module per backend: the registry chooses one for each resource, and `Providers` keeps them for a run.

A provider class has a `name`, an `unsuitable(system, values)` class method that says why it cannot
serve a resource here (None when it can), and is built as `cls(system, options, note)`. One instance
of each provider class lives for the whole run, so what it reads in bulk (the dpkg database) is read
once and shared by every resource of its type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.errors import HostError
from agent.providers.apt import Apt
from agent.providers.base_service import BaseService
from agent.providers.systemd import Systemd
from agent.providers.useradd import Groupadd, Useradd
from agent.system import System

Note = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """What the agent's configuration tells providers: extra apt arguments (agent.yaml `apt.options`,
    then TEND_APT_OPTIONS)."""

    apt_options: tuple[str, ...] = ()


# For each type, its providers in order of preference: the first suitable one is chosen.
CANDIDATES: dict[str, tuple[Any, ...]] = {
    "package": (Apt,),
    "service": (Systemd, BaseService),
    "user": (Useradd,),
    "group": (Groupadd,),
}


def provider_names(type_name: str) -> tuple[str, ...]:
    return tuple(cls.name for cls in CANDIDATES[type_name])


def choose(
    type_name: str, system: System, requested: str | None = None, values: Mapping[str, Any] | None = None
) -> Any:
    """The provider class for a resource of `type_name` with these `values` on this system.

    `requested` (the resource's `provider:`) limits the choice to that one. When none fits, the
    error lists every candidate and why it was ruled out.
    """
    values = values or {}
    reasons: list[str] = []
    for cls in CANDIDATES[type_name]:
        if requested is not None and cls.name != requested:
            reasons.append(f"{cls.name}: not the one asked for (provider: {requested})")
            continue
        reason = cls.unsuitable(system, values)
        if reason is None:
            return cls
        reasons.append(f"{cls.name}: {reason}")
    if requested is not None and requested not in provider_names(type_name):
        reasons.append(f"{requested}: no such {type_name} provider")
    raise HostError(f"no suitable {type_name} provider: " + "; ".join(reasons))


class Providers:
    """The providers of one run, made by the runner and handed to every resource (`Resource.bind`).

    `note` takes remarks that are not failures (what a provider leaves alone under --root).
    """

    def __init__(self, system: System, options: ProviderOptions | None = None, note: Note = lambda text: None):
        self.system = system
        self.options = options or ProviderOptions()
        self.note = note
        self._instances: dict[Any, Any] = {}

    def get(self, type_name: str, values: Mapping[str, Any]) -> Any:
        """The provider instance for a resource of `type_name` with these `values` (its `provider` honoured)."""
        cls = choose(type_name, self.system, values.get("provider"), values)
        instance = self._instances.get(cls)
        if instance is None:
            instance = self._instances[cls] = cls(self.system, self.options, self.note)
        return instance


__all__ = ["CANDIDATES", "ProviderOptions", "Providers", "choose", "provider_names"]
