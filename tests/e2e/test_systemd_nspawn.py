"""End to end on a real systemd: a Debian 12 root (debootstrap, cached) booted with systemd-nspawn, tend run inside
from the working tree, converging a package from a local repository, a unit file and its service.

Slow (a first debootstrap takes about a minute; later runs reuse /var/cache/tend-tests/bookworm-rootfs). Needs
root; skipped with the reason where debootstrap or nspawn cannot run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0, reason="needs root (debootstrap, nspawn)")]

CACHE = Path("/var/cache/tend-tests")
ROOTFS = CACHE / "bookworm-rootfs"
INCLUDE = "systemd-sysv,python3,python3-yaml,python3-jinja2,python3-psutil,gnupg"
MARKER = ".tend-rootfs"  # holds INCLUDE: a root made with other packages is made again
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
APT_OPTIONS = (
    "-o Dir::Etc::sourcelist=/opt/e2e/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=/tmp/apt/lists "
    "-o Dir::Cache=/tmp/apt/cache -o APT::Get::List-Cleanup=0"
)
HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"


def _sh(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def _ensure_tools() -> None:
    """debootstrap and systemd-container (pinned to the host's systemd, so nothing else upgrades)."""
    if shutil.which("debootstrap") and shutil.which("systemd-nspawn") and shutil.which("nsenter"):
        return
    version = _sh(["dpkg-query", "-W", "-f=${Version}", "systemd"]).stdout.strip()
    if not version:
        pytest.skip("systemd is not installed on this host, so systemd-container cannot be pinned to it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "debootstrap", f"systemd-container={version}"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600, check=False)
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot install debootstrap and systemd-container: {done.stderr.strip()[-300:]}")


def _mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        found = re.search(r"^URIs:\s*(\S+)", sources.read_text(), re.M)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def _make_rootfs() -> Path:
    """The cached Debian root, made once (under a lock: both test workers may ask at once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = ROOTFS / MARKER
        if marker.exists() and marker.read_text() == INCLUDE:
            return ROOTFS
        _ensure_tools()
        building = CACHE / "bookworm-rootfs.tmp"
        shutil.rmtree(building, ignore_errors=True)
        argv = ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", "bookworm", str(building), _mirror()]
        done = _sh(argv, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"debootstrap failed: {done.stdout.strip()[-300:]} {done.stderr.strip()[-300:]}")
        (building / MARKER).write_text(INCLUDE)
        shutil.rmtree(ROOTFS, ignore_errors=True)
        building.rename(ROOTFS)
        return ROOTFS


@dataclass
class Container:
    """A booted container: commands run in it through nsenter; /opt/e2e is the host's `shared` folder."""

    pid: int
    shared: Path
    machine: str

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return _sh(["nsenter", "-t", str(self.pid), "-a", "env", "-i", f"PATH={PATH}", *argv], timeout)

    def tend(self, site: str, *args: str) -> tuple[int, dict[str, Any], str]:
        """`tend apply` of /opt/e2e/<site> inside, as the container's python3 runs the working tree."""
        done = self.run(
            "PYTHONPATH=/opt/tend", "TEND_CONFIG=/dev/null", f"TEND_APT_OPTIONS={APT_OPTIONS}",
            "python3", "-m", "agent", "apply", "--repo", f"/opt/e2e/{site}", "--state-dir", f"/var/lib/tend-{site}",
            "--json", "--detailed-exitcodes", *args,
        )  # fmt: skip
        report = json.loads(done.stdout) if done.stdout.strip() else {}
        return done.returncode, report, done.stderr


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    _ensure_tools()
    rootfs = _make_rootfs()
    shared = tmp_path_factory.mktemp("e2e")
    _build_repository(shared)
    machine = f"tend-e2e-{secrets.token_hex(3)}"
    log = open(shared / "nspawn.log", "w")  # noqa: SIM115 - the container writes to it until it stops
    nspawn = subprocess.Popen(
        ["systemd-nspawn", "--register=no", "--keep-unit", "--console=passive", "-q", "-b", "--volatile=overlay",
         "-D", str(rootfs), f"--machine={machine}", f"--bind-ro={PROJECT}:/opt/tend", f"--bind-ro={shared}:/opt/e2e"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        made = Container(_wait_boot(nspawn, shared / "nspawn.log"), shared, machine)
        made.run("mkdir", "-p", "/tmp/apt/lists/partial", "/tmp/apt/cache/archives/partial")
        yield made
        made.run("systemctl", "poweroff")
        nspawn.wait(timeout=30)
    finally:
        if nspawn.poll() is None:
            nspawn.kill()
            nspawn.wait()
        log.close()
        _clean_nspawn_leftovers(machine)


def _wait_boot(nspawn: subprocess.Popen[bytes], log: Path) -> int:
    """The container's PID 1 (as the host sees it) once systemd says it is up; skip if it never boots."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if nspawn.poll() is not None:
            pytest.skip(f"systemd-nspawn cannot start here: {log.read_text().strip()[-400:]}")
        child = _sh(["pgrep", "-P", str(nspawn.pid), "-x", "systemd"]).stdout.split()
        if child:
            state = _sh(["nsenter", "-t", child[0], "-a", "systemctl", "is-system-running"]).stdout.strip()
            if state in ("running", "degraded"):
                return int(child[0])
        time.sleep(0.2)
    pytest.skip(f"the container did not finish booting in 60 s: {log.read_text().strip()[-400:]}")


def _clean_nspawn_leftovers(machine: str) -> None:
    """nspawn leaves /run/systemd/nspawn behind: remove this machine's part, and the folders once empty."""
    base = Path("/run/systemd/nspawn")
    shutil.rmtree(base / "propagate" / machine, ignore_errors=True)
    for folder in (base / "propagate", base / "locks", base):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _build_repository(shared: Path) -> None:
    """tendtest-e2e-hello 1.0 in a flat apt repository under the shared folder."""
    build = shared / "build/tendtest-e2e-hello"
    (build / "DEBIAN").mkdir(parents=True)
    (build / "DEBIAN/control").write_text(
        "Package: tendtest-e2e-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: e2e test\n"
    )
    (build / "usr/share/tendtest-e2e-hello").mkdir(parents=True)
    (build / "usr/share/tendtest-e2e-hello/hello.py").write_text("import time\nwhile True:\n    time.sleep(60)\n")
    repo = shared / "apt-repo"
    repo.mkdir()
    subprocess.run(["dpkg-deb", "--build", str(build), str(repo / "tendtest-e2e-hello_1.0_all.deb")], check=True,
                   capture_output=True)  # fmt: skip
    packages = subprocess.run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo, capture_output=True, text=True,
                              check=True).stdout  # fmt: skip
    (repo / "Packages").write_text(packages)
    (shared / "sources.list").write_text("deb [trusted=yes] file:/opt/e2e/apt-repo ./\n")


def write_site(container: Container, name: str, manifest: str) -> None:
    site = container.shared / name
    (site / "data").mkdir(parents=True, exist_ok=True)
    (site / "manifests").mkdir(exist_ok=True)
    (site / "hiera.yaml").write_text(HIERA)
    (site / "data/c.yaml").write_text("classes: [site]\n")
    (site / "manifests/site.yaml").write_text(textwrap.dedent(manifest))


def unit(exec_start: str, kind: str = "simple") -> str:
    text = f"[Unit]\nDescription=tend e2e\n[Service]\nType={kind}\nExecStart={exec_start}\n"
    return json.dumps(text + "[Install]\nWantedBy=multi-user.target\n")


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["status"] for r in report["resources"]}


WEB = """
resources:
  - service: tendtest-web
    ensure: running
    enable: true
    require: package:tendtest-e2e-hello
  - file: /etc/systemd/system/tendtest-web.service
    content: UNIT
  - package: tendtest-e2e-hello
"""


def test_converge_then_nothing_to_do_then_drift_corrected(container: Container) -> None:
    write_site(container, "web", WEB.replace("UNIT", unit("/usr/bin/python3 /usr/share/tendtest-e2e-hello/hello.py")))
    code, report, stderr = container.tend("web")
    assert code == 2, (report, stderr)
    assert statuses(report) == {  # the package and the unit file come before the service that needs them
        "file:/etc/systemd/system/tendtest-web.service": "changed",
        "package:tendtest-e2e-hello": "changed",
        "service:tendtest-web": "changed",
    }
    assert container.run("systemctl", "is-active", "tendtest-web").stdout.strip() == "active"
    assert container.run("systemctl", "is-enabled", "tendtest-web").stdout.strip() == "enabled"

    code, report, stderr = container.tend("web")
    assert code == 0, (report, stderr)  # a second run changes nothing

    container.run("systemctl", "stop", "tendtest-web")
    code, report, stderr = container.tend("web")
    assert code == 2, (report, stderr)
    web = next(r for r in report["resources"] if r["id"] == "service:tendtest-web")
    assert web["drift"] is True
    assert web["changes"] == [{"property": "ensure", "from": "stopped", "to": "running"}]
    assert container.run("systemctl", "is-active", "tendtest-web").stdout.strip() == "active"


def test_changed_unit_file_reloads_systemd_and_restarts(container: Container) -> None:
    manifest = WEB.replace("tendtest-web", "tendtest-reload")
    write_site(container, "reload", manifest.replace("UNIT", unit("/bin/sleep 1001")))
    assert container.tend("reload")[0] == 2
    first_pid = container.run("systemctl", "show", "-P", "MainPID", "tendtest-reload").stdout.strip()

    write_site(container, "reload", manifest.replace("UNIT", unit("/bin/sleep 1002")))
    code, report, stderr = container.tend("reload")
    assert code == 2, (report, stderr)
    service = next(r for r in report["resources"] if r["id"] == "service:tendtest-reload")
    assert service["changes"] == [
        {"property": "refresh", "from": None, "to": ["file:/etc/systemd/system/tendtest-reload.service"]}
    ]
    shown = container.run("systemctl", "show", "-P", "ExecStart", "tendtest-reload").stdout
    assert "/bin/sleep 1002" in shown  # systemd re-read the unit (daemon-reload) before the restart
    assert container.run("systemctl", "show", "-P", "MainPID", "tendtest-reload").stdout.strip() != first_pid
    assert container.run("systemctl", "show", "-P", "NeedDaemonReload", "tendtest-reload").stdout.strip() == "no"


def test_failing_unit_fails_and_its_dependents_are_skipped(container: Container) -> None:
    write_site(
        container,
        "broken",
        f"""
        resources:
          - file: /etc/systemd/system/tendtest-broken.service
            content: {unit("/nonexistent/daemon", kind="exec")}
          - service: tendtest-broken
            ensure: running
          - file: /etc/tendtest-after-broken
            content: "x\\n"
            require: service:tendtest-broken
    """,
    )
    code, report, stderr = container.tend("broken")
    assert code == 6, (report, stderr)
    assert statuses(report)["service:tendtest-broken"] == "failed"
    assert statuses(report)["file:/etc/tendtest-after-broken"] == "skipped"
    error = next(r["error"] for r in report["resources"] if r["id"] == "service:tendtest-broken")
    # The unit's log lines follow when journald has them already (best effort, so not asserted).
    assert error.startswith("systemctl start tendtest-broken.service failed: exited with status 1: Job for")
