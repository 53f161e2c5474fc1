"""The service type: the systemd provider on a root's unit files (`systemctl --root`) and on a host without
systemd, and the base provider with real processes (commands, pattern, pidfile, SIGTERM then SIGKILL)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from agent.errors import HostError
from agent.providers import ProviderOptions
from agent.providers.services import ServiceSpec
from agent.providers.systemd import Systemd
from agent.system import Root, System
from tests.integration.providers.conftest import Site, needs

SYSTEMD_RUNS = Path("/run/systemd/system").exists()
no_systemd = pytest.mark.skipif(SYSTEMD_RUNS, reason="this host runs systemd; the test is about a host without it")

DAEMON = """\
import os, signal, sys, time
pidfile = sys.argv[1]
if "stubborn" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
while True:
    time.sleep(1)
"""


class Daemon:
    """A small Python daemon whose script name is unique to the test, so a pattern finds only it."""

    def __init__(self, folder: Path):
        self.token = f"tendtest-daemon-{secrets.token_hex(4)}"
        self.script = folder / f"{self.token}.py"
        self.script.write_text(DAEMON)
        self.pidfile = folder / f"{self.token}.pid"

    def start_command(self, *extra: str) -> list[str]:
        """A start command that returns at once, leaving the daemon behind with its stdout and stderr open."""
        line = " ".join([sys.executable, str(self.script), str(self.pidfile), *extra])
        return ["/bin/sh", "-c", f"{line} &"]

    def pids(self) -> list[int]:
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            if proc.info["status"] != psutil.STATUS_ZOMBIE and str(self.script) in " ".join(proc.info["cmdline"] or []):
                found.append(proc.info["pid"])
        return found

    def kill_all(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    made = Daemon(tmp_path)
    yield made
    made.kill_all()


def service(name: str, **attributes: object) -> str:
    lines = [f"  - service: {name}"] + [f"    {key}: {_yaml(value)}" for key, value in attributes.items()]
    return "resources:\n" + "\n".join(lines) + "\n"


def _yaml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"'{v}'" for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else f"'{value}'"


# --- base provider -----------------------------------------------------------------------------------------------


@no_systemd
def test_base_pattern_starts_once_and_stops_with_sigterm(site: Site, daemon: Daemon) -> None:
    site.manifest(service(daemon.token, ensure="running", start=daemon.start_command(), pattern=daemon.token))
    first = site.apply()
    assert first.returncode == 2, first
    rid = f"service:{daemon.token}"
    assert first.result(rid)["changes"] == [{"property": "ensure", "from": "stopped", "to": "running"}]
    assert len(daemon.pids()) == 1
    second = site.apply()
    assert second.returncode == 0, second  # idempotent: it runs, nothing to do
    assert len(daemon.pids()) == 1

    site.manifest(service(daemon.token, ensure="stopped", start=daemon.start_command(), pattern=daemon.token))
    stopped = site.apply()
    assert stopped.returncode == 2, stopped
    assert daemon.pids() == []
    assert site.apply().returncode == 0


@no_systemd
def test_base_sends_sigkill_after_the_timeout(site: Site, daemon: Daemon) -> None:
    """A process that ignores SIGTERM is killed once `timeout` has passed."""
    subprocess.run(daemon.start_command("stubborn"), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not daemon.pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    site.manifest(service(daemon.token, ensure="stopped", pidfile=str(daemon.pidfile), timeout=1))
    started = time.monotonic()
    run = site.apply()
    assert run.returncode == 2, run
    assert daemon.pids() == []
    assert 1.0 <= time.monotonic() - started < 10


@no_systemd
def test_base_zombie_is_not_running(site: Site, tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.02)
        pidfile = tmp_path / "zombie.pid"
        pidfile.write_text(f"{child.pid}\n")
        site.manifest(service("tendtest-zombie", ensure="stopped", pidfile=str(pidfile)))
        assert site.apply().returncode == 0  # stopped already: a zombie has exited
        site.manifest(service("tendtest-zombie", ensure="running", pidfile=str(pidfile), start=["/bin/true"]))
        noop = site.apply(noop=True)
        assert noop.result("service:tendtest-zombie")["changes"] == [
            {"property": "ensure", "from": "stopped", "to": "running"}
        ]
    finally:
        child.wait()


@no_systemd
def test_base_commands_and_restart_on_refresh(site: Site, tmp_path: Path) -> None:
    flag, log, config = tmp_path / "running", tmp_path / "log", tmp_path / "app.conf"
    site.manifest(f"""
        resources:
          - file: {config}
            content: "one\\n"
            notify: service:tendtest-cmd
          - service: tendtest-cmd
            ensure: running
            start: [/bin/sh, -c, "touch {flag}; echo start >> {log}"]
            stop: [/bin/sh, -c, "rm -f {flag}; echo stop >> {log}"]
            status: [test, -e, "{flag}"]
    """)
    first = site.apply()
    assert first.returncode == 2, first
    assert log.read_text() == "start\n"
    assert site.apply().returncode == 0
    config.write_text("edited by hand\n")
    refreshed = site.apply()
    assert refreshed.returncode == 2, refreshed
    assert refreshed.result("service:tendtest-cmd")["changes"] == [
        {"property": "refresh", "from": None, "to": [f"file:{config}"]}
    ]
    assert log.read_text() == "start\nstop\nstart\n"  # no restart command: stop, then start


@no_systemd
def test_no_suitable_provider_lists_every_candidate(site: Site) -> None:
    site.manifest(service("tendtest-nothing", ensure="running", enable=True))
    run = site.apply()
    assert run.returncode == 4, run
    assert run.result("service:tendtest-nothing")["error"] == (
        "no suitable service provider: "
        "systemd: systemd is not running here (/run/systemd/system does not exist); "
        "base: it needs a status command, a pattern or a pidfile to tell whether the service runs"
    )


# --- systemd provider --------------------------------------------------------------------------------------------

UNIT = """\
[Unit]
Description=tend test unit

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
"""


@needs("systemctl", root=False)
def test_systemctl_root_enables_disables_and_masks(site: Site, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "lib/systemd/system").mkdir(parents=True)
    (root / "lib/systemd/system/tendtest-unit.service").write_text(UNIT)
    site.root = root
    wants = root / "etc/systemd/system/multi-user.target.wants/tendtest-unit.service"

    site.manifest(service("tendtest-unit", ensure="running", enable=True))
    first = site.apply()
    assert first.returncode == 2, first
    assert first.result("service:tendtest-unit")["changes"] == [{"property": "enable", "from": False, "to": True}]
    assert wants.is_symlink()
    assert "service:tendtest-unit: running state left alone under --root" in first.stderr
    assert site.apply().returncode == 0

    site.manifest(service("tendtest-unit", enable=False))
    assert site.apply().returncode == 2 and not wants.exists()
    assert site.apply().returncode == 0

    site.manifest(service("tendtest-unit", enable="mask"))
    masked = site.apply()
    assert masked.returncode == 2, masked
    assert os.readlink(root / "etc/systemd/system/tendtest-unit.service") == "/dev/null"
    assert site.apply().returncode == 0

    site.manifest(service("tendtest-unit", enable=True))
    assert site.apply().returncode == 2 and wants.is_symlink()
    assert not (root / "etc/systemd/system/tendtest-unit.service").exists()


@needs("systemctl", root=False)
def test_a_unit_file_tend_writes_comes_before_its_service(site: Site, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    site.root = root
    site.manifest(f"""
        resources:
          - service: tendtest-written
            enable: true
          - file: /etc/systemd/system/tendtest-written.service
            content: {json.dumps(UNIT)}
    """)
    run = site.apply()
    assert run.returncode == 2, run
    assert list(run.statuses) == ["file:/etc/systemd/system/tendtest-written.service", "service:tendtest-written"]
    assert (root / "etc/systemd/system/multi-user.target.wants/tendtest-written.service").is_symlink()


@no_systemd
@needs("systemctl", root=False)
def test_cannot_reach_systemd_is_not_inactive() -> None:
    """On a host not booted with systemd, is-active answers nothing: the provider says so, not "stopped"."""
    provider = Systemd(System(Root(Path("/"))), ProviderOptions(), lambda text: None)
    with pytest.raises(HostError, match=r"^cannot reach systemd \(System has not been booted with systemd"):
        provider.running(ServiceSpec("cron", "cron.service"))
