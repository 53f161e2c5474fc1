"""Provider selection: the first suitable candidate, or an error that says why each one was ruled out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.errors import HostError
from agent.providers import Providers, choose
from agent.providers.apt import Apt
from agent.providers.base_service import BaseService
from agent.providers.systemd import Systemd
from agent.system import FileKind, FileState, Root


class FakeSystem:
    """What choose() asks of a System: the root, which commands exist, and whether /run/systemd/system does."""

    def __init__(self, *, root: str = "/", commands: tuple[str, ...] = (), systemd: bool = False):
        self.root = Root(Path(root))
        self.commands = commands
        self.systemd = systemd

    def has_command(self, name: str) -> bool:
        return name in self.commands

    def read_state(self, path: Path) -> FileState | None:
        assert path == Path("/run/systemd/system")
        return FileState(FileKind.DIRECTORY, 0o755, 0, 0, 0) if self.systemd else None


TOOLS = ("apt-get", "apt-cache", "dpkg", "systemctl")
BASE = {"ensure": "running", "start": ["x"], "pattern": "x"}


def pick(system: Any, type_name: str, values: dict, requested: str | None = None) -> Any:
    return choose(type_name, system, requested, values)


def test_systemd_when_it_runs_else_base() -> None:
    assert pick(FakeSystem(commands=TOOLS, systemd=True), "service", BASE) is Systemd
    assert pick(FakeSystem(commands=TOOLS), "service", BASE) is BaseService


def test_systemd_under_a_root_even_when_it_does_not_run_here() -> None:
    assert pick(FakeSystem(root="/tmp/r", commands=TOOLS), "service", {"enable": True}) is Systemd


def test_no_suitable_provider_says_why_for_each() -> None:
    with pytest.raises(HostError) as raised:
        pick(FakeSystem(commands=("dpkg",)), "service", {"ensure": "running", "pattern": "x", "enable": True})
    assert str(raised.value) == (
        "no suitable service provider: systemd: systemctl not found; "
        "base: it needs a start command to start the service"
    )


@pytest.mark.parametrize(
    ("values", "reason"),
    [({"ensure": "stopped"}, "it needs a status command, a pattern or a pidfile to tell whether the service runs"),
     ({"pidfile": "/p", "enable": False}, "it cannot manage enable (starting at boot needs systemd)"),
     ({"status": ["x"], "reload": True}, "it cannot reload (reload: true needs systemd; give a restart command")],
)  # fmt: skip
def test_base_reasons(values: dict, reason: str) -> None:
    with pytest.raises(HostError, match="base: " + reason.replace("(", r"\(").replace(")", r"\)")):
        pick(FakeSystem(commands=TOOLS), "service", values)


def test_a_requested_provider_limits_the_choice() -> None:
    with pytest.raises(HostError) as raised:
        pick(FakeSystem(commands=TOOLS), "service", BASE, requested="systemd")
    assert str(raised.value) == (
        "no suitable service provider: systemd: systemd is not running here (/run/systemd/system does not exist); "
        "base: not the one asked for (provider: systemd)"
    )


def test_apt_needs_its_tools() -> None:
    assert pick(FakeSystem(commands=TOOLS), "package", {}) is Apt
    with pytest.raises(HostError, match=r"^no suitable package provider: apt: apt-get, apt-cache not found"):
        pick(FakeSystem(commands=("dpkg",)), "package", {})


def test_one_instance_per_provider_for_the_run() -> None:
    providers = Providers(FakeSystem(commands=TOOLS))  # type: ignore[arg-type]
    first = providers.get("package", {"name": "a"})
    assert providers.get("package", {"name": "b"}) is first
