"""The sysctl type with its provider on a fake host: persisted under /etc/sysctl.d, set live through /proc/sys."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import HostError, ManifestError
from agent.providers.options import ProviderOptions
from agent.providers.sysctld import SysctlD, parse_conf
from agent.resources.sysctl import Sysctl
from tests.unit.fakes import FakeSystem, converge, declare

KEY = "net.ipv4.ip_forward"
LIVE = "/proc/sys/net/ipv4/ip_forward"
PERSISTED = "/etc/sysctl.d/99-tend-net.ipv4.ip_forward.conf"
CONTENT = "# Managed by tend (sysctl:net.ipv4.ip_forward): changes here are overwritten.\nnet.ipv4.ip_forward = 1\n"


def setup(root: str = "/", **files: str) -> tuple[FakeSystem, SysctlD, list[str]]:
    notes: list[str] = []
    system = FakeSystem(root, files={LIVE: "0\n", **files}, read_only=())
    return system, SysctlD(system, ProviderOptions(), notes.append), notes


def test_persists_and_sets_live_then_nothing_to_do() -> None:
    system, provider, _ = setup()
    forward = declare(Sysctl, KEY, value=1)
    assert converge(forward, system, provider) == [("ensure", "absent", "present")]
    assert system.text(PERSISTED) == CONTENT
    assert system.modes[system.resolve(PERSISTED)] == 0o644
    assert system.text(LIVE) == "1\n"
    assert converge(forward, system, provider) == []
    assert system.ran == [] and system.backups == []


def test_only_the_live_value_is_set_when_the_file_is_right() -> None:
    system, provider, _ = setup(**{PERSISTED: CONTENT})
    assert converge(declare(Sysctl, KEY, value="1"), system, provider) == [("live", "0", "1")]
    assert system.text(LIVE) == "1\n" and system.backups == []


def test_a_hand_edited_file_is_rewritten_with_the_old_content_in_the_bucket() -> None:
    system, provider, _ = setup(**{PERSISTED: "net.ipv4.ip_forward = 0\n", LIVE: "1\n"})
    assert converge(declare(Sysctl, KEY, value=1), system, provider) == [("value", "0", "1")]
    assert system.text(PERSISTED) == CONTENT
    assert system.backups == [b"net.ipv4.ip_forward = 0\n"]


def test_whitespace_in_values_is_not_a_difference() -> None:
    files = {"/proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t6291456\n"}
    system, provider, _ = setup(**files)
    rmem = declare(Sysctl, "net.ipv4.tcp_rmem", value="4096   131072 6291456")
    assert converge(rmem, system, provider) == [("ensure", "absent", "present")]
    assert "net.ipv4.tcp_rmem = 4096 131072 6291456\n" in system.text("/etc/sysctl.d/99-tend-net.ipv4.tcp_rmem.conf")
    assert system.text("/proc/sys/net/ipv4/tcp_rmem") == "4096\t131072\t6291456\n"  # untouched: already so


def test_read_only_proc_sys_is_a_note_and_the_value_is_persisted() -> None:
    notes: list[str] = []
    system = FakeSystem(files={LIVE: "0\n"}, read_only=["/proc/sys"])
    provider = SysctlD(system, ProviderOptions(), notes.append)
    forward = declare(Sysctl, KEY, value=1)
    assert converge(forward, system, provider) == [("ensure", "absent", "present")]
    assert converge(forward, system, provider) == []
    assert system.text(LIVE) == "0\n" and system.text(PERSISTED) == CONTENT
    assert notes == [f"sysctl:{KEY}: /proc/sys is read-only here (a container?): {KEY} is persisted, not set live"]


def test_under_a_root_only_the_file_is_written() -> None:
    system = FakeSystem("/tmp/r", files={"/tmp/r/etc/passwd": ""})  # no /proc/sys at all: never read
    provider = SysctlD(system, ProviderOptions(), lambda text: None)
    assert converge(declare(Sysctl, KEY, value=1), system, provider) == [("ensure", "absent", "present")]
    assert system.text("/tmp/r" + PERSISTED) == CONTENT
    assert converge(declare(Sysctl, KEY, value=1), system, provider) == []


def test_absent_removes_the_file_and_leaves_the_live_value() -> None:
    system, provider, _ = setup(**{PERSISTED: CONTENT, LIVE: "1\n"})
    gone = declare(Sysctl, KEY, ensure="absent")
    assert converge(gone, system, provider) == [("ensure", "present", "absent")]
    assert system.read_state(system.resolve(PERSISTED)) is None
    assert system.backups == [CONTENT.encode()] and system.text(LIVE) == "1\n"
    assert converge(gone, system, provider) == []


def test_a_key_the_kernel_does_not_have_fails() -> None:
    system, provider, _ = setup()
    with pytest.raises(HostError, match=r"the kernel has no setting net.ipv4.nope \(/proc/sys/net/ipv4/nope does"):
        converge(declare(Sysctl, "net.ipv4.nope", value=1), system, provider)


@pytest.mark.parametrize(
    ("title", "values", "message"),
    [("net/ipv4/ip_forward", {"value": 1}, "'net/ipv4/ip_forward' is not a sysctl key (dotted names"),
     ("kernel", {"value": 1}, "'kernel' is not a sysctl key"),
     ("net.ipv4..x", {"value": 1}, "'net.ipv4..x' is not a sysctl key"),
     (KEY, {}, "'value' is required (unless ensure: absent)"),
     (KEY, {"value": "1\n2"}, "value must be one non-empty line, not '1\\n2'"),
     (KEY, {"value": True}, "'value' must be a string or an integer, not true or false (True)"),
     (KEY, {"valeu": 1}, "unknown attribute 'valeu' (did you mean 'value'?)")],
)  # fmt: skip
def test_validation_errors_name_file_and_line(title: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as raised:
        declare(Sysctl, title, line=7, **values)
    assert str(raised.value).startswith("manifests/site.yaml:7: sysctl:")
    assert message in str(raised.value)


def test_parse_conf_reads_as_sysctl_does() -> None:
    text = "# comment\n; other\nnet.ipv4.ip_forward=0\n-net/ipv4/ip_forward =  1 \nkernel.x = 2\n"
    assert parse_conf(text, KEY) == "1"
    assert parse_conf(text, "vm.swappiness") is None
