"""Providers, one module per backend: the registry chooses one for each resource, and `Providers` keeps them for a run.

A provider class has a `name`, an `unsuitable(system, values)` class method that says why it cannot
serve a resource here (None when it can), and is built as `cls(system, options, note)`. One instance
of each provider class lives for the whole run, so what it reads in bulk (the dpkg database) is read
once and shared by every resource of its type. What each family must offer is the Protocol of the
type that uses it (agent/resources: PackageProvider, ServiceProvider, UserProvider, …).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from agent.errors import HostError
from agent.providers.apt import Apt
from agent.providers.base_service import BaseService
from agent.providers.edit_buffer import EditBuffer
from agent.providers.options import Note, ProviderOptions
from agent.providers.sysctld import SysctlD
from agent.providers.systemd import Systemd
from agent.providers.useradd import Groupadd, Useradd
from agent.system import Host


class ProviderClass(Protocol):
    """What the registry needs of a provider class."""

    name: str

    def unsuitable(self, system: Host, values: Mapping[str, Any]) -> str | None: ...
    def __call__(self, system: Host, options: ProviderOptions, note: Note) -> Any: ...


# For each type, its providers in order of preference: the first suitable one is chosen.
CANDIDATES: dict[str, tuple[ProviderClass, ...]] = {
    "package": (Apt,),
    "apt_source": (Apt,),
    "service": (Systemd, BaseService),
    "user": (Useradd,),
    "group": (Groupadd,),
    "sysctl": (SysctlD,),
    # One buffer for every partial edit: edits of one path chain through it, whatever their type.
    "line": (EditBuffer,),
    "block": (EditBuffer,),
    "ini": (EditBuffer,),
}


def provider_names(type_name: str) -> tuple[str, ...]:
    return tuple(cls.name for cls in CANDIDATES[type_name])


def choose(
    type_name: str, system: Host, requested: str | None = None, values: Mapping[str, Any] | None = None
) -> ProviderClass:
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
    """The providers of one run, made by the runner's caller; the runner asks it for each resource's provider
    and passes that to the resource.

    `note` takes remarks that are not failures (what a provider leaves alone under --root).
    """

    def __init__(self, system: Host, options: ProviderOptions | None = None, note: Note = lambda text: None):
        self.system = system
        self.options = options or ProviderOptions()
        self.note = note
        self._instances: dict[ProviderClass, Any] = {}

    def get(self, type_name: str, values: Mapping[str, Any]) -> Any:
        """The provider instance for a resource of `type_name` with these `values` (its `provider` honoured);
        None for a type no provider serves (file, exec)."""
        if type_name not in CANDIDATES:
            return None
        cls = choose(type_name, self.system, values.get("provider"), values)
        instance = self._instances.get(cls)
        if instance is None:
            instance = self._instances[cls] = cls(self.system, self.options, self.note)
        return instance


__all__ = ["CANDIDATES", "Note", "ProviderOptions", "Providers", "choose", "provider_names"]
