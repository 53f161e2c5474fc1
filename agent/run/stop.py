"""SIGTERM and SIGINT during a converge: finish the resource in hand, skip the rest, report."""

from __future__ import annotations

import signal
from types import FrameType, TracebackType
from typing import Any


class StopFlag:
    """True once a stop signal arrived; while entered, it replaces the process's handlers of both signals."""

    def __init__(self) -> None:
        self.signal = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        self._previous = {signum: signal.signal(signum, self._handle) for signum in (signal.SIGTERM, signal.SIGINT)}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum

    def __call__(self) -> bool:
        return bool(self.signal)
