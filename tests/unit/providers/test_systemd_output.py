"""How the systemd provider reads systemctl: exit 3 is "inactive", no answer at all is "cannot reach systemd"."""

from __future__ import annotations

import pytest

from agent.errors import HostError
from agent.providers.systemd import interpret_is_active, interpret_is_enabled, parse_show

# What `systemctl is-active cron` prints on a Debian 12 host that was not booted with systemd (a container).
NOT_BOOTED = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n"
)


@pytest.mark.parametrize(
    ("returncode", "stdout", "state"),
    [(0, "active\n", "running"), (0, "reloading\n", "running"), (3, "activating\n", "running"),
     (3, "inactive\n", "stopped"), (3, "failed\n", "stopped"), (3, "deactivating\n", "stopped")],
)  # fmt: skip
def test_is_active_states(returncode: int, stdout: str, state: str) -> None:
    assert interpret_is_active(returncode, stdout, "") == state


def test_no_answer_is_cannot_reach_systemd() -> None:
    with pytest.raises(HostError) as raised:
        interpret_is_active(1, "", NOT_BOOTED)
    assert str(raised.value) == (
        "cannot reach systemd (System has not been booted with systemd as init system (PID 1). Can't operate.; "
        "Failed to connect to bus: Host is down); on a host without systemd use provider: base"
    )


def test_no_bus_is_cannot_reach_systemd() -> None:
    with pytest.raises(HostError, match=r"^cannot reach systemd \(Failed to connect to bus: No such file"):
        interpret_is_active(1, "", "Failed to connect to bus: No such file or directory\n")


@pytest.mark.parametrize(
    ("stdout", "enabled"),
    [("enabled\n", True), ("static\n", True), ("generated\n", True), ("disabled\n", False), ("masked\n", "mask"),
     ("masked-runtime\n", "mask"), ("", "not-found")],
)  # fmt: skip
def test_is_enabled_states(stdout: str, enabled: bool | str) -> None:
    assert interpret_is_enabled(stdout) == enabled


def test_show_properties() -> None:
    assert parse_show("NeedDaemonReload=yes\nLoadState=loaded\n") == {"NeedDaemonReload": "yes", "LoadState": "loaded"}
