"""What a service provider is told of a service: the same plain values whichever provider serves it."""

from __future__ import annotations

from dataclasses import dataclass

RUNNING = "running"
STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A service as its provider needs it. Commands are argv tuples; `timeout` bounds a start or a stop.

    `start_timeout`: how long a systemd unit may take to finish starting; `settle`: how long after that
    it must still be active.
    """

    name: str
    unit: str  # the systemd unit: the name with `.service` added when it has no unit suffix
    start: tuple[str, ...] | None = None
    stop: tuple[str, ...] | None = None
    restart: tuple[str, ...] | None = None
    status: tuple[str, ...] | None = None
    pattern: str | None = None
    pidfile: str | None = None
    timeout: float = 10.0
    reload: bool = False
    start_timeout: float = 90.0
    settle: float = 1.0
