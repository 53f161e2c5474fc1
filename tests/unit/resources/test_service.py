"""The service type with the systemd provider on a fake host: systemctl's answers in, systemctl lines out."""

from __future__ import annotations

import time

import pytest

from agent.errors import HostError
from agent.providers.options import ProviderOptions
from agent.providers.systemd import Systemd
from agent.resources.service import Service
from tests.unit.fakes import FakeSystem, converge, declare

STALE = "show --property=NeedDaemonReload,LoadState,DropInPaths nginx.service"
STATE = "show --property=ActiveState,SubState,Result,Type,NRestarts nginx.service"
JOBS = "list-jobs --no-legend nginx.service"
JOURNAL = "journalctl -u nginx.service -n 10 --no-pager -o cat"


def setup(root: str = "/", stop: bool = False) -> tuple[FakeSystem, Systemd, list[str]]:
    notes: list[str] = []
    system = FakeSystem(root)
    system.on("systemctl is-active nginx.service", stdout="inactive\n", returncode=3)
    system.on("systemctl is-enabled nginx.service", stdout="disabled\n", returncode=1)
    system.on(f"systemctl {STALE}", stdout="NeedDaemonReload=no\nLoadState=loaded\nDropInPaths=\n")
    system.on(f"systemctl {STATE}", stdout="ActiveState=active\nSubState=running\nResult=success\nType=simple\n")
    return system, Systemd(system, ProviderOptions(stop=lambda: stop), notes.append), notes


def systemctl(*lines: str, root: str = "") -> list[str]:
    return [f"systemctl {root}--no-ask-password {line}" for line in lines]


def test_enabled_then_started_and_settled() -> None:
    system, provider, _ = setup()
    nginx = declare(Service, "nginx", ensure="running", enable=True, settle=0)
    assert converge(nginx, system, provider) == [("ensure", "stopped", "running"), ("enable", False, True)]
    assert system.ran == systemctl(
        "is-active nginx.service", "is-enabled nginx.service", STALE, "enable nginx.service", STALE, STATE,
        "--no-block start nginx.service", JOBS, STATE,
    )  # fmt: skip


def test_a_unit_still_active_after_settle_seconds() -> None:
    system, provider, _ = setup()
    started = time.monotonic()
    provider.start(declare(Service, "nginx", settle=0.3).spec())
    assert time.monotonic() - started >= 0.3
    assert system.ran[-2:] == systemctl(STATE, STATE)  # looked at once the job is done, and again settle s later


def test_a_unit_that_dies_fails_with_its_journal() -> None:
    system, provider, _ = setup()
    system.on(f"systemctl {STATE}", stdout="ActiveState=failed\nSubState=failed\nResult=exit-code\nType=simple\n")
    system.on(JOURNAL, stdout="Starting x...\nboom: no config\nnginx.service: Failed with result 'exit-code'.\n")
    with pytest.raises(HostError) as raised:
        provider.start(declare(Service, "nginx").spec())
    assert str(raised.value) == (
        "nginx.service is failed (failed, result exit-code) after its start; its log: Starting x... | "
        "boom: no config | nginx.service: Failed with result 'exit-code'."
    )
    assert system.ran[-1] == JOURNAL


def test_an_auto_restarting_unit_is_not_settled() -> None:
    system, provider, _ = setup()
    system.on(f"systemctl {STATE}", stdout="ActiveState=activating\nSubState=auto-restart\nResult=exit-code\n")
    with pytest.raises(HostError, match=r"is activating \(auto-restart, result exit-code\) after its start"):
        provider.start(declare(Service, "nginx", settle=0).spec())


def test_a_oneshot_unit_is_judged_by_its_result() -> None:
    system, provider, _ = setup()
    system.on(f"systemctl {STATE}", stdout="ActiveState=inactive\nSubState=dead\nResult=success\nType=oneshot\n")
    provider.start(declare(Service, "nginx").spec())  # inactive once done is what a oneshot unit does
    system.on(f"systemctl {STATE}", stdout="ActiveState=failed\nSubState=failed\nResult=exit-code\nType=oneshot\n")
    with pytest.raises(HostError, match="is failed"):
        provider.start(declare(Service, "nginx").spec())


def test_start_timeout_bounds_the_job() -> None:
    system, provider, _ = setup()
    system.on(f"systemctl {JOBS}", stdout="42 nginx.service start running\n")
    started = time.monotonic()
    with pytest.raises(HostError, match=r"nginx.service did not finish its start in 0.3 s \(start_timeout\)"):
        provider.start(declare(Service, "nginx", start_timeout=0.3).spec())
    assert 0.3 <= time.monotonic() - started < 2


@pytest.mark.parametrize("jobs", ["42 nginx.service start running\n", ""])
def test_a_stop_request_ends_every_wait(jobs: str) -> None:
    system, provider, _ = setup(stop=True)
    system.on(f"systemctl {JOBS}", stdout=jobs)
    started = time.monotonic()
    with pytest.raises(HostError, match=r"interrupted while waiting for nginx\.service to settle"):
        provider.start(declare(Service, "nginx", settle=60, start_timeout=60).spec())
    assert time.monotonic() - started < 1


def test_in_sync_runs_only_the_checks() -> None:
    system, provider, _ = setup()
    system.on("systemctl is-active nginx.service", stdout="active\n")
    assert converge(declare(Service, "nginx", ensure="running"), system, provider) == []
    assert system.ran == systemctl("is-active nginx.service")


def test_a_refresh_restarts_a_running_unit() -> None:
    system, provider, _ = setup()
    system.on("systemctl is-active nginx.service", stdout="active\n")
    declare(Service, "nginx", settle=0).refresh(system, provider)
    assert system.ran == systemctl(
        "is-active nginx.service", STALE, STATE, "--no-block restart nginx.service", JOBS, STATE
    )


def test_a_new_drop_in_reloads_systemd_once_though_it_says_no_reload_is_needed() -> None:
    system, provider, _ = setup()
    system.on("systemctl is-active nginx.service", stdout="active\n")
    system.put("/etc/systemd/system/nginx.service.d/limits.conf", "[Service]\nLimitNOFILE=4096\n")
    nginx = declare(Service, "nginx", settle=0)
    nginx.refresh(system, provider)
    assert system.ran[1:3] == systemctl(STALE, "daemon-reload")
    system.on(
        f"systemctl {STALE}",
        stdout="NeedDaemonReload=no\nDropInPaths=/etc/systemd/system/nginx.service.d/limits.conf "
        "/usr/lib/systemd/system/service.d/10-timeout.conf\n",
    )
    system.ran.clear()
    nginx.refresh(system, provider)
    assert systemctl("daemon-reload")[0] not in system.ran  # loaded: systemd's own drop-ins do not count


def test_a_removed_drop_in_reloads_systemd() -> None:
    system, provider, _ = setup()
    system.on(f"systemctl {STALE}", stdout="DropInPaths=/etc/systemd/system/nginx.service.d/old.conf\n")
    provider.start(declare(Service, "nginx", settle=0).spec())
    assert system.ran[:2] == systemctl(STALE, "daemon-reload")


def test_under_a_root_only_enablement_is_managed_offline() -> None:
    system, provider, notes = setup("/tmp/r")
    nginx = declare(Service, "nginx", ensure="running", enable="mask")
    assert converge(nginx, system, provider) == [("enable", False, "mask")]
    assert system.ran == systemctl("is-enabled nginx.service", "mask nginx.service", root="--root=/tmp/r ")
    assert notes == [
        "service:nginx: running state left alone under --root /tmp/r (its systemd is not running); "
        "enablement is managed"
    ]


def test_waits_are_checked() -> None:
    with pytest.raises(Exception, match="start_timeout must be a positive number"):
        declare(Service, "nginx", start_timeout=0)
    with pytest.raises(Exception, match="settle must be a number of seconds, 0 or more"):
        declare(Service, "nginx", settle=-1)
