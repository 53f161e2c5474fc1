"""SIGTERM and SIGINT during a converge: finish the resource in hand, skip the rest, report; a compile (which
changes nothing) is stopped at once."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any


class Interrupted(BaseException):
    """A stop signal arrived where nothing can be left half-done: unwind at once (no `except Exception` stops it)."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


class StopFlag:
    """True once a stop signal arrived; while entered, it replaces the process's handlers of both signals."""

    def __init__(self) -> None:
        self.signal = 0
        self._previous: dict[int, Any] = {}
        self._raising = False

    @contextmanager
    def raising(self) -> Iterator[None]:
        """Within this block a stop signal (or one that already arrived) raises Interrupted, for work that
        changes nothing, such as a compile, which may otherwise run for minutes."""
        if self.signal:
            raise Interrupted(self.signal)
        self._raising = True
        try:
            yield
        finally:
            self._raising = False

    def __enter__(self) -> StopFlag:
        self._previous = {signum: signal.signal(signum, self._handle) for signum in (signal.SIGTERM, signal.SIGINT)}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum
        if self._raising:
            self._raising = False
            raise Interrupted(signum)

    def __call__(self) -> bool:
        return bool(self.signal)
