"""The service type with the systemd provider on a fake host: systemctl's answers in, systemctl lines out."""

from __future__ import annotations

from agent.providers.options import ProviderOptions
from agent.providers.systemd import Systemd
from agent.resources.service import Service
from tests.unit.fakes import FakeSystem, converge, declare

SHOW = "show --property=NeedDaemonReload,LoadState nginx.service"


def setup(root: str = "/") -> tuple[FakeSystem, Systemd, list[str]]:
    notes: list[str] = []
    system = FakeSystem(root)
    system.on("systemctl is-active nginx.service", stdout="inactive\n", returncode=3)
    system.on("systemctl is-enabled nginx.service", stdout="disabled\n", returncode=1)
    system.on(f"systemctl {SHOW}", stdout="NeedDaemonReload=no\nLoadState=loaded\n")
    return system, Systemd(system, ProviderOptions(), notes.append), notes


def systemctl(*lines: str, root: str = "") -> list[str]:
    return [f"systemctl {root}--no-ask-password {line}" for line in lines]


def test_enabled_then_started() -> None:
    system, provider, _ = setup()
    nginx = declare(Service, "nginx", ensure="running", enable=True)
    assert converge(nginx, system, provider) == [("ensure", "stopped", "running"), ("enable", False, True)]
    assert system.ran == systemctl(
        "is-active nginx.service",
        "is-enabled nginx.service",
        SHOW,
        "enable nginx.service",
        SHOW,
        "start nginx.service",
        "is-active nginx.service",
    )


def test_in_sync_runs_only_the_checks() -> None:
    system, provider, _ = setup()
    system.on("systemctl is-active nginx.service", stdout="active\n")
    assert converge(declare(Service, "nginx", ensure="running"), system, provider) == []
    assert system.ran == systemctl("is-active nginx.service")


def test_a_refresh_restarts_a_running_unit() -> None:
    system, provider, _ = setup()
    system.on("systemctl is-active nginx.service", stdout="active\n")
    declare(Service, "nginx").refresh(system, provider)
    assert system.ran == systemctl("is-active nginx.service", SHOW, "restart nginx.service")


def test_under_a_root_only_enablement_is_managed_offline() -> None:
    system, provider, notes = setup("/tmp/r")
    nginx = declare(Service, "nginx", ensure="running", enable="mask")
    assert converge(nginx, system, provider) == [("enable", False, "mask")]
    assert system.ran == systemctl("is-enabled nginx.service", "mask nginx.service", root="--root=/tmp/r ")
    assert notes == [
        "service:nginx: running state left alone under --root /tmp/r (its systemd is not running); "
        "enablement is managed"
    ]
