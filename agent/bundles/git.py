"""git, run through the system layer: argv lists, a fixed environment, a timeout, no user config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from agent.errors import HostError
from agent.system import commands
from agent.system.commands import DEFAULT_ENV, CommandResult

GIT_TIMEOUT = 300.0


def git(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = GIT_TIMEOUT,
    input: bytes | None = None,
) -> CommandResult:
    """Run git with no user or system configuration, so a host's ~/.gitconfig changes nothing."""
    argv = ["git", *(["--git-dir", str(git_dir)] if git_dir else []), *args]
    environment = {
        **DEFAULT_ENV,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "HOME": "/nonexistent",
        **(env or {}),
    }
    try:
        result = commands.run(argv, input=input, env=environment, timeout=timeout)
    except HostError as error:
        if "not found" in error.message:
            raise HostError("git is not installed (Debian: apt-get install git)") from None
        raise
    if check and not result.ok:
        raise HostError(result.failure(), subject=f"git {args[0]}")
    return result
