"""The process table, through psutil: processes by command-line pattern or pid, and stopping them (TERM, then KILL)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time

import psutil

_POLL_S = 0.05


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (a zombie has exited; only its parent's wait is missing)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def matching(pattern: re.Pattern[str]) -> list[int]:
    """The pids of live processes whose command line (arguments joined by spaces) `pattern` finds, but ours."""
    pids = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        info = proc.info
        if info["pid"] == os.getpid() or info["status"] == psutil.STATUS_ZOMBIE or not info["cmdline"]:
            continue
        if pattern.search(" ".join(info["cmdline"])):
            pids.append(info["pid"])
    return sorted(pids)


def terminate(pids: list[int], timeout: float) -> list[int]:
    """SIGTERM to `pids`, then SIGKILL to those still alive after `timeout` seconds; the pids that were killed."""
    _signal(pids, signal.SIGTERM)
    left = wait_gone(pids, timeout)
    if left:
        _signal(left, signal.SIGKILL)
        wait_gone(left, 5.0)
    return left


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until every pid has exited (zombies count as exited); the ones still alive at the deadline."""
    deadline = time.monotonic() + timeout
    left = [pid for pid in pids if alive(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        left = [pid for pid in left if alive(pid)]
    return left


def _signal(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
