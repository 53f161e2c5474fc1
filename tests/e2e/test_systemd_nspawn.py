"""End to end on a real systemd: a Debian 12 root (debootstrap, cached) booted with systemd-nspawn, tend run inside
from the working tree, converging a package from a local repository, a unit file and its service.

Slow (a first debootstrap takes about a minute; later runs reuse /var/cache/tend-tests/bookworm-rootfs). Needs
root; skipped with the reason where debootstrap or nspawn cannot run.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT
from tests.e2e.conftest import Machine, boot, ensure_tools, make_rootfs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (debootstrap, nspawn)"),
]

APT_OPTIONS = (
    "-o Dir::Etc::sourcelist=/opt/e2e/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=/tmp/apt/lists "
    "-o Dir::Cache=/tmp/apt/cache -o APT::Get::List-Cleanup=0"
)
HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"


@dataclass
class Container(Machine):
    """A booted container; /opt/e2e is the host's `shared` folder."""

    shared: Path

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
    ensure_tools()
    rootfs = make_rootfs()
    shared = tmp_path_factory.mktemp("e2e")
    _build_repository(shared)
    binds = (f"--bind-ro={PROJECT}:/opt/tend", f"--bind-ro={shared}:/opt/e2e")
    with boot(rootfs, shared / "nspawn.log", *binds) as machine:
        made = Container(machine.pid, machine.machine, shared)
        made.run("mkdir", "-p", "/tmp/apt/lists/partial", "/tmp/apt/cache/archives/partial")
        yield made


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
    # Queued with --no-block, the start fails when the unit does: its state, then its log.
    assert error.startswith("tendtest-broken.service is failed (failed, result exit-code) after its start"), error


DIES = """
resources:
  - file: /etc/systemd/system/tendtest-dies.service
    content: UNIT
  - service: tendtest-dies
    ensure: running
"""


def test_a_unit_that_dies_at_once_fails_with_its_log_and_is_no_drift(container: Container) -> None:
    script = "/bin/sh -c 'echo tendtest-dying-now; sleep 0.3; exit 7'"
    write_site(container, "dies", DIES.replace("UNIT", unit(script)))
    for attempt in range(2):
        code, report, stderr = container.tend("dies")
        assert code == (6 if attempt == 0 else 4), (report, stderr)  # the unit file changes on the first run only
        dies = next(r for r in report["resources"] if r["id"] == "service:tendtest-dies")
        assert dies["status"] == "failed" and dies["drift"] is False, (attempt, dies)
        assert "tendtest-dies.service is failed" in dies["error"] and "tendtest-dying-now" in dies["error"], dies


DROP_IN = """
resources:
  - file: /etc/systemd/system/tendtest-limits.service
    content: UNIT
  - service: tendtest-limits
    ensure: running
  - file: /etc/systemd/system/tendtest-limits.service.d
    ensure: directory
  - file: /etc/systemd/system/tendtest-limits.service.d/limits.conf
    content: "[Service]\\nLimitNOFILE=4321\\n"
"""


def test_a_new_drop_in_takes_effect_without_a_notify(container: Container) -> None:
    manifest = DROP_IN.replace("UNIT", unit("/bin/sleep 1003"))
    first, _ = manifest.split("  - file: /etc/systemd/system/tendtest-limits.service.d\n")
    write_site(container, "limits", first)
    assert container.tend("limits")[0] == 2
    assert container.run("systemctl", "show", "-P", "LimitNOFILE", "tendtest-limits").stdout.strip() != "4321"
    write_site(container, "limits", manifest)
    code, report, stderr = container.tend("limits")
    assert code == 2, (report, stderr)
    assert list(statuses(report))[-1] == "service:tendtest-limits"  # the drop-in is ordered before it
    assert container.run("systemctl", "show", "-P", "LimitNOFILE", "tendtest-limits").stdout.strip() == "4321"
    assert container.tend("limits")[0] == 0


PEOPLE = """
resources:
  - user: tendtest-bob
    managehome: true
    password: "HASH"
    authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKey bob@e2e"]
    shell: /bin/bash
  - group: tendtest-team
    members: [tendtest-bob]
"""
HASH = "$y$j9T$e2esalt$Q0vJ4F1f3jnOlXGzUGDGq1t3l1dE1xDq9Yv3JbC3yX."


def test_users_with_home_keys_password_and_group_members(container: Container) -> None:
    write_site(container, "people", PEOPLE.replace("HASH", HASH))
    code, report, stderr = container.tend("people")
    assert code == 2, (report, stderr)
    assert HASH not in json.dumps(report) + stderr
    shadow = container.run("getent", "shadow", "tendtest-bob").stdout
    assert shadow.split(":")[1] == HASH
    keys = container.run("stat", "-c", "%a %U", "/home/tendtest-bob/.ssh", "/home/tendtest-bob/.ssh/authorized_keys")
    assert keys.stdout.split("\n")[:2] == ["700 tendtest-bob", "600 tendtest-bob"]
    assert container.run("getent", "group", "tendtest-team").stdout.strip().endswith(":tendtest-bob")
    assert container.tend("people")[0] == 0


def test_a_dropped_service_is_stopped_and_disabled_by_systemd(container: Container) -> None:
    """DESIGN §2 dropped resources: with `service` in tend::remove_dropped, a service no longer declared is
    stopped and disabled through systemd (its unit file, still declared, stays)."""
    unit_file = "  - file: /etc/systemd/system/tendtest-drop.service\n    content: UNIT\n".replace(
        "UNIT", unit("/usr/bin/python3 -c 'import time; time.sleep(3600)'")
    )
    service = "  - service: tendtest-drop\n    ensure: running\n    enable: true\n"
    write_site(container, "drop", "resources:\n" + unit_file + service)
    code, report, stderr = container.tend("drop")
    assert code == 2 and statuses(report)["service:tendtest-drop"] == "changed", (report, stderr)
    assert container.run("systemctl", "is-active", "tendtest-drop").stdout.strip() == "active"

    write_site(container, "drop", "resources:\n" + unit_file)
    code, report, stderr = container.tend("drop")
    assert code == 0 and statuses(report)["service:tendtest-drop"] == "dropped", (report, stderr)
    assert container.run("systemctl", "is-active", "tendtest-drop").stdout.strip() == "active"  # kept

    (container.shared / "drop/data/c.yaml").write_text("classes: [site]\ntend::remove_dropped: [service]\n")
    code, report, stderr = container.tend("drop")
    assert code == 2, (report, stderr)
    removed = next(r for r in report["resources"] if r["id"] == "service:tendtest-drop")
    assert removed["status"] == "removed"
    assert {c["property"] for c in removed["changes"]} == {"ensure", "enable"}
    assert container.run("systemctl", "is-active", "tendtest-drop").stdout.strip() == "inactive"
    assert container.run("systemctl", "is-enabled", "tendtest-drop").stdout.strip() == "disabled"
    code, report, stderr = container.tend("drop")
    assert code == 0 and "service:tendtest-drop" not in statuses(report), (report, stderr)
