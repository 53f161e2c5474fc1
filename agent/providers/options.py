"""What every provider is built with besides the system: the agent's options, and where remarks go."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
