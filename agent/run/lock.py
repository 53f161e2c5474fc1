"""The run lock around everything that converges, pulls or switches bundles: one at a time per state directory."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from agent.errors import HostError, LockError
from agent.settings import AgentSettings, StatePaths
from agent.system import RunLock

T = TypeVar("T")


def hold_lock(paths: StatePaths, *, wait: bool) -> RunLock:
    """The run lock, taken in the state directory (created if need be); the caller releases it."""
    lock = RunLock(paths.lock)
    try:
        paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock.acquire(wait=wait)
    except LockError:
        raise
    except OSError as error:
        raise HostError(f"cannot use the state directory: {error.strerror}", subject=str(paths.root)) from None
    return lock


def locked(settings: AgentSettings, wait: bool, action: Callable[[], T]) -> T:
    """`action()` under the run lock: pulls, runs and rollbacks never interleave."""
    lock = hold_lock(settings.state, wait=wait)
    try:
        return action()
    finally:
        lock.release()
