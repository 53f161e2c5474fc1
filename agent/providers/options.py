"""What every provider is built with besides the system: the agent's options, and where remarks go."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import ConfigError

# Takes remarks that are not failures (what a provider leaves alone under --root, a read-only /proc/sys).
Note = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """What the agent's configuration tells providers: extra apt arguments (agent.yaml `apt.options`,
    then TEND_APT_OPTIONS); how old apt's package lists may be before `latest` refreshes them
    (`apt.lists_max_age`); the state directory (None: nothing is remembered between runs); `noop`:
    nothing on the host may change, not even a cache such as apt's lists; the clock; and `stop`,
    which says that the run was asked to stop (SIGTERM) and ends every wait."""

    apt_options: tuple[str, ...] = ()
    apt_lists_max_age_s: int = 3600
    state_dir: Path | None = None
    noop: bool = False
    clock: Callable[[], float] = time.time
    stop: Callable[[], bool] = field(default=lambda: False, compare=False)


def configured_options(
    settings: Mapping[str, Any], environ: Mapping[str, str], where: str = "agent.yaml"
) -> tuple[str, ...]:
    """Extra apt arguments: agent.yaml's `apt: {options: [...]}`, then TEND_APT_OPTIONS (split as a shell would).

    Later options win in apt, so the environment overrides the file.
    """
    unknown = sorted(set(settings) - {"options", "lists_max_age"})
    if unknown:
        raise ConfigError(f"apt: unknown key '{unknown[0]}' (known: lists_max_age, options)", subject=where)
    options = settings.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ConfigError("apt: options must be a list of strings (apt-get arguments, like -o Dir::Cache=…)")
    try:
        extra = shlex.split(environ.get("TEND_APT_OPTIONS", ""))
    except ValueError as error:
        raise ConfigError(f"TEND_APT_OPTIONS: {error}") from None
    return (*options, *extra)
