"""What a service provider is told of a service: the same plain values whichever provider serves it."""

from __future__ import annotations

from dataclasses import dataclass

RUNNING = "running"
STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A service as its provider needs it. Commands are argv tuples; `timeout` bounds a start or a stop."""

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
