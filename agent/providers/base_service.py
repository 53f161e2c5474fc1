"""The `base` service provider, for hosts without systemd (containers): commands, or a process found with psutil.

Whether it runs: the `status` command (exit 0), else the process in `pidfile`, else a process whose
command line `pattern` finds; a zombie is not running. Stopping without a `stop` command sends the
processes found SIGTERM, then SIGKILL after `timeout` seconds.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Mapping
from typing import Any

from agent.errors import HostError
from agent.providers.options import Note, ProviderOptions
from agent.providers.services import ServiceSpec
from agent.system import CommandResult, Host
from agent.system.commands import DEFAULT_ENV

COMMAND_TIMEOUT_S = 120.0
_POLL_S = 0.1


class BaseService:
    """Services run by their own commands, checked through the process table."""

    name = "base"

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        if not system.root.is_host:
            return "it manages processes of this host, not of another root (--root)"
        if all(values.get(a) is None for a in ("status", "pattern", "pidfile")):
            return "it needs a status command, a pattern or a pidfile to tell whether the service runs"
        if values.get("ensure") == "running" and values.get("start") is None:
            return "it needs a start command to start the service"
        if values.get("enable") is not None:
            return "it cannot manage enable (starting at boot needs systemd)"
        if values.get("reload"):
            return "it cannot reload (reload: true needs systemd; give a restart command instead)"
        return None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system

    def running(self, spec: ServiceSpec) -> bool:
        if spec.status is not None:
            return self._run(spec, spec.status, "status").returncode == 0
        return bool(self._pids(spec))

    def enabled(self, spec: ServiceSpec) -> None:
        return None

    def start(self, spec: ServiceSpec) -> None:
        self._must(spec, self._run(spec, spec.start, "start", daemon=True), "start")
        if not self._wait(spec, running=True):
            raise HostError(f"the start command succeeded but the service is not running after {spec.timeout:g} s")

    def stop(self, spec: ServiceSpec) -> None:
        if spec.stop is not None:
            self._must(spec, self._run(spec, spec.stop, "stop"), "stop")
            if not self._wait(spec, running=False):
                raise HostError(f"the stop command succeeded but the service still runs after {spec.timeout:g} s")
            return
        if spec.pattern is None and spec.pidfile is None:
            raise HostError("cannot stop it: give a stop command, a pattern or a pidfile")
        self.system.terminate(self._pids(spec), spec.timeout)

    def refresh(self, spec: ServiceSpec) -> None:
        """Restart a running service: its restart command, else stop then start."""
        if not self.running(spec):
            return
        if spec.restart is not None:
            self._must(spec, self._run(spec, spec.restart, "restart", daemon=True), "restart")
            return
        self.stop(spec)
        if spec.start is not None:
            self.start(spec)

    def set_enabled(self, spec: ServiceSpec, want: bool | str, have: bool | str) -> None:
        raise HostError("the base provider cannot manage enable")

    def _pids(self, spec: ServiceSpec) -> list[int]:
        if spec.pidfile is not None:
            pid = self._read_pidfile(spec.pidfile)
            return [pid] if pid is not None and self.system.process_alive(pid) else []
        if spec.pattern is not None:
            return self.system.processes_matching(re.compile(spec.pattern))
        return []

    def _read_pidfile(self, pidfile: str) -> int | None:
        path = self.system.resolve(pidfile, follow=True)
        if self.system.read_state(path) is None:
            return None
        text = self.system.read_bytes(path).decode(errors="replace").strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    def _wait(self, spec: ServiceSpec, *, running: bool) -> bool:
        deadline = time.monotonic() + spec.timeout
        while self.running(spec) != running:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)
        return True

    def _run(self, spec: ServiceSpec, argv: tuple[str, ...] | None, what: str, daemon: bool = False) -> CommandResult:
        if argv is None:
            raise HostError(f"no {what} command")
        return self.system.run(list(argv), env=DEFAULT_ENV, timeout=COMMAND_TIMEOUT_S, daemon=daemon)

    def _must(self, spec: ServiceSpec, result: CommandResult, what: str) -> None:
        if not result.ok:
            raise HostError(f"{what} command ({shlex.join(result.argv)}) failed: {result.failure()}")
