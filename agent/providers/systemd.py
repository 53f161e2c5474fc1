"""The `systemd` service provider: systemctl for running state and enablement; `systemctl --root` under --root.

Under `--root DIR` only enablement is managed (offline, in DIR's unit folders): DIR's systemd is not
running, so its running state is left alone, with a note.

A start, restart or reload is queued (`--no-block`) and then watched, so that a stop request (SIGTERM)
ends the wait: the unit must finish its job within `start_timeout` and still be active `settle` seconds
later; a `Type=oneshot` unit is judged by its result instead.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from agent.errors import HostError
from agent.providers.options import Note, ProviderOptions
from agent.providers.services import RUNNING, STOPPED, ServiceSpec
from agent.system import CommandResult, Host

RUN_DIR = Path("/run/systemd/system")  # exists exactly when systemd is PID 1 (sd_booted)
TIMEOUT_S = 300.0
_RUNNING_STATES = frozenset(["active", "activating", "reloading", "refreshing"])
_ENABLED_STATES = frozenset(["enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "linked",
                             "linked-runtime", "transient"])  # fmt: skip
_MASKED_STATES = frozenset(["masked", "masked-runtime"])
_POLL_S = 0.1
_JOURNAL_LINES = 10
# Where an administrator's (and tend's) drop-ins live; systemd 252 may miss a new one there (see _stale).
DROP_IN_DIRS = ("/etc/systemd/system", "/run/systemd/system")
_SHOWN = "ActiveState,SubState,Result,Type,NRestarts"


def interpret_is_active(returncode: int, stdout: str, stderr: str) -> str:
    """`running` or `stopped` from `systemctl is-active`; HostError when systemd cannot be reached.

    An inactive or failed unit prints its state and exits 3. Without a reachable systemd (not booted
    with it, no bus) the command prints nothing on stdout and exits 1: that is no answer, not "inactive".
    """
    state = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if not state:
        detail = "; ".join(line.strip() for line in stderr.splitlines() if line.strip()) or f"exit {returncode}"
        raise HostError(f"cannot reach systemd ({detail}); on a host without systemd use provider: base")
    return RUNNING if state in _RUNNING_STATES else STOPPED


def interpret_is_enabled(stdout: str) -> bool | str:
    """True, False or `mask` from `systemctl is-enabled`; `not-found` when no unit file has that name.

    Units that cannot be enabled or disabled by hand (static, generated, …) count as enabled.
    """
    state = stdout.strip().splitlines()[-1] if stdout.strip() else "not-found"
    if state in _ENABLED_STATES:
        return True
    if state in _MASKED_STATES:
        return "mask"
    return False if state == "disabled" else state


def parse_show(text: str) -> dict[str, str]:
    """`systemctl show --property=A,B UNIT` output (`A=value` lines) as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


class Systemd:
    """Services of the systemd that runs this host, or the unit files of a root's systemd."""

    name = "systemd"

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        if not system.has_command("systemctl"):
            return "systemctl not found"
        if system.root.is_host and system.read_state(RUN_DIR) is None:
            return f"systemd is not running here ({RUN_DIR} does not exist)"
        return None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system
        self.note = note
        self.stop_requested = options.stop

    @property
    def offline(self) -> bool:
        return not self.system.root.is_host

    def running(self, spec: ServiceSpec) -> bool | None:
        """Whether the unit runs; None under --root, where that is not managed."""
        if self.offline:
            self.note(
                f"service:{spec.name}: running state left alone under --root {self.system.root.path} "
                "(its systemd is not running); enablement is managed"
            )
            return None
        result = self._systemctl("is-active", spec.unit)
        return interpret_is_active(result.returncode, _text(result.stdout), _text(result.stderr)) == RUNNING

    def enabled(self, spec: ServiceSpec) -> bool | str:
        result = self._systemctl("is-enabled", spec.unit)
        return interpret_is_enabled(_text(result.stdout))

    def start(self, spec: ServiceSpec) -> None:
        self._reload_if_stale(spec)
        self._begin("start", spec)

    def stop(self, spec: ServiceSpec) -> None:
        self._act("stop", spec)

    def refresh(self, spec: ServiceSpec) -> None:
        """Restart (reload with `reload: true`) a running unit, after a daemon-reload when its unit file changed."""
        if self.offline or not self.running(spec):
            return
        self._reload_if_stale(spec)
        self._begin("reload" if spec.reload else "restart", spec)

    def set_enabled(self, spec: ServiceSpec, want: bool | str, have: bool | str) -> None:
        if have == "mask" and want != "mask":
            self._act("unmask", spec)
        if want == "mask":
            self._act("mask", spec)
        else:
            self._reload_if_stale(spec)
            self._act("enable" if want else "disable", spec)

    def _begin(self, verb: str, spec: ServiceSpec) -> None:
        """Queue the job, wait until the unit has no job left, then judge it (see the module docstring)."""
        before = self._show(spec).get("NRestarts", "")
        self._act(verb, spec, "--no-block")
        deadline = time.monotonic() + spec.start_timeout
        while _text(self._systemctl("list-jobs", "--no-legend", spec.unit).stdout).strip():
            if time.monotonic() >= deadline:
                raise HostError(f"{spec.unit} did not finish its {verb} in {spec.start_timeout:g} s "
                                f"(start_timeout){self._journal(spec)}")  # fmt: skip
            self._pause(_POLL_S, spec)
        shown = self._show(spec)
        if shown.get("Type") == "oneshot":
            if shown.get("Result", "success") != "success":
                raise self._failed(spec, verb, shown)
            return
        if shown.get("ActiveState") == "active" and spec.settle > 0:
            self._pause(spec.settle, spec)
            shown = self._show(spec)
        if shown.get("ActiveState") != "active" or shown.get("NRestarts", before) not in (before, "0"):
            raise self._failed(spec, verb, shown)

    def _failed(self, spec: ServiceSpec, verb: str, shown: Mapping[str, str]) -> HostError:
        state = f"{shown.get('ActiveState', '?')} ({shown.get('SubState', '?')}, result {shown.get('Result', '?')})"
        return HostError(f"{spec.unit} is {state} after its {verb}{self._journal(spec)}")

    def _pause(self, seconds: float, spec: ServiceSpec) -> None:
        """Sleep, in short steps that notice a stop request."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.stop_requested():
                raise HostError(f"interrupted while waiting for {spec.unit} to settle")
            time.sleep(min(_POLL_S, left))

    def _show(self, spec: ServiceSpec) -> dict[str, str]:
        return parse_show(_text(self._systemctl("show", f"--property={_SHOWN}", spec.unit).stdout))

    def _reload_if_stale(self, spec: ServiceSpec) -> None:
        """`daemon-reload` when systemd's copy of the unit is not what is on disk (tend or someone changed it)."""
        if self.offline:
            return
        shown = parse_show(
            _text(self._systemctl("show", "--property=NeedDaemonReload,LoadState,DropInPaths", spec.unit).stdout)
        )
        if self._stale(spec, shown):
            self._check(self._systemctl("daemon-reload"), "daemon-reload")

    def _stale(self, spec: ServiceSpec, shown: Mapping[str, str]) -> bool:
        """NeedDaemonReload, a unit systemd did not find, or a drop-in set that differs from the files: systemd
        252 says NeedDaemonReload=no for a drop-in folder made after the unit was loaded, so that is listed."""
        if shown.get("NeedDaemonReload") == "yes" or shown.get("LoadState") == "not-found":
            return True
        folders = {f"{d}/{spec.unit}.d" for d in DROP_IN_DIRS}
        loaded = {p for p in shown.get("DropInPaths", "").split() if str(PurePosixPath(p).parent) in folders}
        on_disk = {
            f"{folder}/{name}"
            for folder in sorted(folders)
            for name in self.system.entries(self.system.resolve(folder))
            if name.endswith(".conf")
        }
        return loaded != on_disk

    def _act(self, verb: str, spec: ServiceSpec, *options: str) -> None:
        result = self._systemctl(*options, verb, spec.unit)
        if not result.ok:
            journal = self._journal(spec) if verb in ("start", "restart", "reload") else ""
            raise HostError(f"systemctl {verb} {spec.unit} failed: {result.failure()}{journal}")

    def _check(self, result: CommandResult, what: str) -> None:
        if not result.ok:
            raise HostError(f"systemctl {what} failed: {result.failure()}")

    def _journal(self, spec: ServiceSpec) -> str:
        """The unit's last log lines, to say why it failed."""
        argv = ["journalctl", "-u", spec.unit, "-n", str(_JOURNAL_LINES), "--no-pager", "-o", "cat"]
        result = self.system.run(argv, timeout=30)
        lines = [line.strip() for line in _text(result.stdout).splitlines() if line.strip()]
        return f"; its log: {' | '.join(lines)}" if result.ok and lines else ""

    def _systemctl(self, *args: str) -> CommandResult:
        """systemctl ARGS (unit names never start with '-': the service type refuses them)."""
        root = [f"--root={self.system.root.path}"] if self.offline else []
        return self.system.run(["systemctl", *root, "--no-ask-password", *args], timeout=TIMEOUT_S)


def _text(data: bytes) -> str:
    return data.decode(errors="replace")
