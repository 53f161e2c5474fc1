"""The `service` type: running or stopped, enabled, disabled or masked; restarted (or reloaded) on refresh."""

from __future__ import annotations

import re
import shlex
from typing import Any, ClassVar, Protocol

from agent.providers import provider_names
from agent.providers.services import RUNNING, STOPPED, ServiceSpec
from agent.resources.base import Attr, Change, Resource
from agent.system import Host

UNIT_SUFFIXES = (".service", ".socket", ".timer", ".target", ".path", ".mount", ".automount", ".swap", ".slice")
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
DROP_IN_DIR = "/etc/systemd/system"
COMMANDS = ("start", "stop", "restart", "status")
_BASE = (*COMMANDS, "pattern", "pidfile")
_NAME = re.compile(r"^[A-Za-z0-9_:.@\\-]+$")


class ServiceProvider(Protocol):
    """What the service type asks of its provider (agent/providers/systemd.py, base_service.py)."""

    def running(self, spec: ServiceSpec) -> bool | None:
        """Whether it runs; None where that is not observed (under --root)."""
        ...

    def enabled(self, spec: ServiceSpec) -> bool | str | None:
        """True, False or `mask`; None where the provider cannot tell."""
        ...

    def start(self, spec: ServiceSpec) -> None: ...
    def stop(self, spec: ServiceSpec) -> None: ...
    def refresh(self, spec: ServiceSpec) -> None: ...
    def set_enabled(self, spec: ServiceSpec, want: bool | str, have: bool | str) -> None: ...


class Service(Resource[ServiceProvider]):
    type_name: ClassVar[str] = "service"
    refreshable: ClassVar[bool] = True
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": STOPPED, "enable": False}
    undo_keeps: ClassVar[tuple[str, ...]] = ("name", "provider", *COMMANDS, "pattern", "pidfile", "timeout")
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), choices=(RUNNING, STOPPED), managed=True),
        "enable": Attr((bool, str), choices=(True, False, "mask"), managed=True),
        "reload": Attr((bool,), default=False),
        "provider": Attr((str,), choices=provider_names("service")),
        **{command: Attr((list, str), secret_ok=False) for command in COMMANDS},
        "pattern": Attr((str,), secret_ok=False),
        "pidfile": Attr((str,), secret_ok=False),
        "timeout": Attr((int, float), default=10),
        "start_timeout": Attr((int, float), default=90),
        "settle": Attr((int, float), default=1),
    }

    @property
    def unit(self) -> str:
        return self.name if self.name.endswith(UNIT_SUFFIXES) else f"{self.name}.service"

    def undo(self) -> dict[str, Any] | None:
        """Stopped, and disabled unless it is a base-provider service (commands, pattern or pidfile) that never
        declared `enable`: the base provider cannot disable."""
        values = super().undo() or {}
        if self.values.get("enable") is None and any(self.values.get(k) is not None for k in _BASE):
            values.pop("enable", None)
        return values

    @property
    def identity(self) -> str:
        return f"service:{self.unit}"

    def validate(self) -> None:
        if not _NAME.match(self.name) or self.name.startswith("-"):
            raise self.fail(f"{self.name!r} is not a service name (letters, digits, and _ : . @ -)", "name")
        for command in COMMANDS:
            value = self.values.get(command)
            if isinstance(value, list) and (not value or not all(isinstance(a, str | int | float) for a in value)):
                raise self.fail(f"'{command}' must be an argv list of strings, or a string split like a shell", command)
        if self.values.get("pattern") is not None:
            try:
                re.compile(self.values["pattern"])
            except re.error as error:
                raise self.fail(f"pattern is not a regular expression: {error}", "pattern") from None
        pidfile = self.values.get("pidfile")
        if pidfile is not None and not pidfile.startswith("/"):
            raise self.fail("pidfile must be an absolute path", "pidfile")
        for name in ("timeout", "start_timeout"):
            if self.values[name] <= 0:
                raise self.fail(f"{name} must be a positive number of seconds", name)
        if self.values["settle"] < 0:
            raise self.fail("settle must be a number of seconds, 0 or more", "settle")

    def implicit_requires(self) -> list[str]:
        return [f"package:{self.name}"]

    def implicit_subscribes(self) -> list[str]:
        """A managed unit file or drop-in comes first, and its change restarts the service (after a daemon-reload)."""
        return [f"file:{folder}/{self.unit}" for folder in UNIT_DIRS] + [f"file:{DROP_IN_DIR}/{self.unit}.d/*.conf"]

    def spec(self) -> ServiceSpec:
        commands = {c: _argv(self.values.get(c)) for c in COMMANDS}
        return ServiceSpec(
            name=self.name,
            unit=self.unit,
            pattern=self.values.get("pattern"),
            pidfile=self.values.get("pidfile"),
            timeout=float(self.values["timeout"]),
            reload=bool(self.values["reload"]),
            start_timeout=float(self.values["start_timeout"]),
            settle=float(self.values["settle"]),
            **commands,
        )

    def current(self, system: Host, provider: ServiceProvider) -> dict[str, Any]:
        """The managed properties the provider can observe here (running state is not observed under --root)."""
        spec = self.spec()
        current: dict[str, Any] = {}
        if self.values.get("ensure") is not None:
            running = provider.running(spec)
            if running is not None:
                current["ensure"] = RUNNING if running else STOPPED
        if self.values.get("enable") is not None:
            current["enable"] = provider.enabled(spec)
        return current

    def fix(self, system: Host, provider: ServiceProvider, changes: list[Change]) -> None:
        spec = self.spec()
        for change in changes:
            if change.property == "enable":
                provider.set_enabled(spec, change.new, change.old)
        for change in changes:
            if change.property == "ensure":
                (provider.start if change.new == RUNNING else provider.stop)(spec)

    def refresh(self, system: Host, provider: ServiceProvider) -> None:
        provider.refresh(self.spec())


def _argv(command: str | list[str | int | float] | None) -> tuple[str, ...] | None:
    if command is None:
        return None
    return tuple(shlex.split(command)) if isinstance(command, str) else tuple(str(a) for a in command)
