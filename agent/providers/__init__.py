"""Providers, one module per backend: the registry chooses one for each resource, and `Providers` keeps them for a run.

A provider class has a `name`, an `unsuitable(system, values)` class method that says why it cannot
serve a resource here (None when it can), and is built as `cls(system, options, note)`. One instance
of each provider class lives for the whole run, so what it reads in bulk (the dpkg database) is read
once and shared by every resource of its type. What each family must offer is the Protocol of the
type that uses it (agent/resources: PackageProvider, ServiceProvider, UserProvider, …). A provider's module is
imported when a resource of its type first needs a provider, so a run loads only the providers it uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from agent.errors import HostError
from agent.lazy import LazyMapping, load
from agent.providers.options import Note, ProviderOptions
from agent.system import Host


class ProviderClass(Protocol):
    """What the registry needs of a provider class."""

    name: str

    def unsuitable(self, system: Host, values: Mapping[str, Any]) -> str | None: ...
    def __call__(self, system: Host, options: ProviderOptions, note: Note) -> Any: ...


# For each type, its providers in order of preference (the first suitable one is chosen): each one's name and
# where its class is.
_PROVIDERS: dict[str, tuple[tuple[str, str], ...]] = {
    "package": (("apt", "agent.providers.apt:Apt"),),
    "apt_source": (("apt", "agent.providers.apt:Apt"),),
    "service": (("systemd", "agent.providers.systemd:Systemd"), ("base", "agent.providers.base_service:BaseService")),
    "user": (("useradd", "agent.providers.useradd:Useradd"),),
    "group": (("groupadd", "agent.providers.useradd:Groupadd"),),
    "sysctl": (("sysctld", "agent.providers.sysctld:SysctlD"),),
    # One buffer for every partial edit: edits of one path chain through it, whatever their type.
    "line": (("buffer", "agent.providers.edit_buffer:EditBuffer"),),
    "block": (("buffer", "agent.providers.edit_buffer:EditBuffer"),),
    "ini": (("buffer", "agent.providers.edit_buffer:EditBuffer"),),
}
CANDIDATES: Mapping[str, tuple[ProviderClass, ...]] = LazyMapping(
    _PROVIDERS, lambda entries: tuple(load(path) for _, path in entries)
)


def provider_names(type_name: str) -> tuple[str, ...]:
    """The names of `type_name`'s providers, in order of preference, none of them imported."""
    return tuple(name for name, _ in _PROVIDERS[type_name])


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
