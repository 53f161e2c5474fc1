"""What every provider is built with besides the system: the agent's options, and where remarks go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Takes remarks that are not failures (what a provider leaves alone under --root, a read-only /proc/sys).
Note = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """What the agent's configuration tells providers: extra apt arguments (agent.yaml `apt.options`,
    then TEND_APT_OPTIONS); `stop` says that the run was asked to stop (SIGTERM), which ends every wait."""

    apt_options: tuple[str, ...] = ()
    stop: Callable[[], bool] = field(default=lambda: False, compare=False)
