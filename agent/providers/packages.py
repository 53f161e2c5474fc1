"""What a package provider tells of a package: the same plain values whichever backend serves it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PackageState:
    """A package's current state: `version` when installed, else `state` says `absent` (config files left)
    or `purged`. `held`: the backend keeps it at its version. `candidate`: the version an upgrade would
    install, asked for only when the desired state depends on it (`latest`). `listed`: False when the
    backend's current lists do not offer it (at the version wanted), so only a refresh can tell."""

    version: str | None
    state: str
    held: bool = False
    candidate: str | None = None
    listed: bool = True

    def __str__(self) -> str:
        return self.version or self.state
