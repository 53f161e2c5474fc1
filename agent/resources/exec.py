"""The `exec` type: runs a command when its guards (creates, unless, onlyif) or a refresh say so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from agent.errors import HostError
from agent.resources.base import Attr, Change, Resource
from agent.secrets.secret import Secret
from agent.system import CommandResult, Host
from agent.system.commands import DEFAULT_ENV

OUTPUT_LIMIT = 4096
# An argv list, or a string for /bin/sh with shell: true.
Command = str | list[str | int | float]


class Exec(Resource[None]):
    type_name: ClassVar[str] = "exec"
    refreshable: ClassVar[bool] = True
    drift_detectable: ClassVar[bool] = False
    attributes: ClassVar[dict[str, Attr]] = {
        "command": Attr((list, str), secret_ok=False),
        "shell": Attr((bool,), default=False),
        "creates": Attr((str,), secret_ok=False),
        "unless": Attr((list, str), secret_ok=False),
        "onlyif": Attr((list, str), secret_ok=False),
        "refreshonly": Attr((bool,), default=False),
        "cwd": Attr((str,), secret_ok=False),
        "environment": Attr((dict,), sensitive=True),
        "stdin": Attr((str,), sensitive=True),
        "user": Attr((str,), secret_ok=False),
        "timeout": Attr((int, float), default=300),
        "returns": Attr((int, list), default=0),
    }

    def validate(self) -> None:
        if self.values.get("command") is None:
            self.values["command"] = self.title
        for name in ("command", "unless", "onlyif"):
            value = self.values.get(name)
            if isinstance(value, str) and not self.values["shell"]:
                raise self.fail(
                    f"'{name}' is a string: give an argv list, or set shell: true to run it with /bin/sh", name
                )
            if isinstance(value, list) and (not value or not all(isinstance(a, str | int | float) for a in value)):
                raise self.fail(f"'{name}' must be a non-empty list of strings (argv)", name)
        for name, value in (self.values.get("environment") or {}).items():
            if not isinstance(name, str) or not isinstance(value, str | int | float | Secret):
                raise self.fail("environment must map names to strings", "environment")
        returns = self.values["returns"]
        if not all(isinstance(r, int) for r in (returns if isinstance(returns, list) else [returns])):
            raise self.fail("returns must be an exit status or a list of them", "returns")
        if self.values.get("creates") and not self.values["creates"].startswith("/"):
            raise self.fail("creates must be an absolute path", "creates")

    def desired(self) -> dict[str, Any]:
        return {"returns": "notrun"}

    def current(self, system: Host, provider: None) -> dict[str, Any]:
        """`notrun` when nothing needs running: refreshonly, or a guard says the work is done."""
        return {"returns": "notrun" if self.values["refreshonly"] or not self._guards_allow(system) else "pending"}

    def changes(self, desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
        return [] if current["returns"] == "notrun" else [Change("returns", "notrun", self._expected())]

    def fix(self, system: Host, provider: None, changes: list[Change]) -> None:
        self._run(system)

    def refresh(self, system: Host, provider: None) -> None:
        if self._guards_allow(system):
            self._run(system)

    def _expected(self) -> list[int]:
        returns = self.values["returns"]
        return returns if isinstance(returns, list) else [returns]

    def _guards_allow(self, system: Host) -> bool:
        creates = self.values.get("creates")
        if creates and system.read_state(system.resolve(creates)) is not None:
            return False
        if self.values.get("unless") is not None and self._command(system, self.values["unless"]).returncode == 0:
            return False
        return self.values.get("onlyif") is None or self._command(system, self.values["onlyif"]).returncode == 0

    def _argv(self, command: Command) -> list[str]:
        if isinstance(command, str):
            return ["/bin/sh", "-c", command]
        return [str(a) for a in command]

    def _environment(self) -> dict[str, str]:
        extra = self.values.get("environment") or {}
        return {**DEFAULT_ENV, **{k: v.reveal() if isinstance(v, Secret) else str(v) for k, v in extra.items()}}

    def _command(self, system: Host, command: Command, stdin: bytes | None = None) -> CommandResult:
        return system.run(
            self._argv(command),
            input=stdin,
            env=self._environment(),
            cwd=self.values.get("cwd"),
            timeout=float(self.values["timeout"]),
            user=self.values.get("user"),
            in_root=True,
        )

    def _run(self, system: Host) -> None:
        stdin = self.values.get("stdin")
        data = None if stdin is None else (stdin.reveal() if isinstance(stdin, Secret) else stdin).encode()
        result = self._command(system, self.values["command"], data)
        if result.timed_out or result.returncode not in self._expected():
            status = result.failure().split(":", 1)[0]
            raise HostError(f"{status} (expected {self._expected()}); {self._output(result)}", subject=self.id)

    def _output(self, result: CommandResult) -> str:
        if self.sensitive:
            return "output withheld (sensitive)"
        text = (result.stdout + result.stderr).decode(errors="replace").strip()
        if len(text) > OUTPUT_LIMIT:
            text = "…" + text[-OUTPUT_LIMIT:]
        return f"output: {text}" if text else "no output"
