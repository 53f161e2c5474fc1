"""The package type with the apt provider on a fake host: dpkg's status file and apt's answers in, apt-get lines out."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import HostError
from agent.providers.apt import Apt
from agent.providers.options import ProviderOptions
from agent.resources.package import Package
from tests.unit.fakes import FakeSystem, converge, declare

STATUS = (Path(__file__).parents[1] / "providers/fixtures/dpkg-status").read_text()
APT = "-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef"
CACHE = "-q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef"


def policy(name: str, candidate: str, *versions: str) -> str:
    table = "".join(f"     {v} 500\n        500 file:/repo ./ Packages\n" for v in versions or (candidate,))
    return f"{name}:\n  Installed: (none)\n  Candidate: {candidate}\n  Version table:\n{table}"


def setup(root: str = "/") -> tuple[FakeSystem, Apt]:
    system = FakeSystem(root, files={f"{root.rstrip('/')}/var/lib/dpkg/status": STATUS})
    return system, Apt(system, ProviderOptions(), lambda text: None)


def test_in_sync_packages_read_the_database_once_and_run_nothing() -> None:
    system, apt = setup()
    assert converge(declare(Package, "adduser"), system, apt) == []
    assert converge(declare(Package, "pair", name=["adduser", "libc6"]), system, apt) == []
    assert system.ran == [] and apt.reads == 1


def test_install_asks_apt_then_installs_in_one_transaction() -> None:
    system, apt = setup()
    system.on("apt-cache policy -- cron tendtest-new", stdout=policy("cron", "3.0") + policy("tendtest-new", "1.0"))
    pair = declare(Package, "pair", name=["cron", "tendtest-new"])
    assert converge(pair, system, apt) == [("cron", "absent", "installed"), ("tendtest-new", "purged", "installed")]
    assert system.ran == [
        f"apt-cache {CACHE} policy -- cron tendtest-new",
        f"apt-get {APT} install -- cron tendtest-new",
    ]


def test_a_pinned_version_and_a_downgrade_allowed() -> None:
    system, apt = setup()
    system.on("apt-cache policy -- adduser", stdout=policy("adduser", "3.134", "3.134", "3.100"))
    older = declare(Package, "adduser", ensure="3.100", allow_downgrade=True)
    assert converge(older, system, apt) == [("ensure", "3.134", "3.100")]
    assert system.lines("apt-get") == [f"apt-get {APT} install --allow-downgrades -- adduser=3.100"]


def test_a_downgrade_not_allowed_and_a_held_package_fail_before_any_command() -> None:
    system, apt = setup()
    with pytest.raises(HostError, match=r"installing adduser 3.100 would downgrade it from 3.134; set allow_down"):
        converge(declare(Package, "adduser", ensure="3.100"), system, apt)
    with pytest.raises(HostError, match=r"tendtest-held is held \(apt-mark hold\): tend leaves it alone"):
        converge(declare(Package, "tendtest-held", ensure="absent"), system, apt)
    assert system.ran == []


def test_a_package_dpkg_did_not_finish_fails() -> None:
    system, apt = setup()
    with pytest.raises(HostError, match=r"tendtest-broken is half-configured \(reinstreq\): dpkg did not finish"):
        converge(declare(Package, "tendtest-broken"), system, apt)


def test_latest_upgrades_to_the_candidate_without_apt_get_update() -> None:
    system, apt = setup()
    system.on("apt-cache policy -- base-files", stdout=policy("base-files", "12.4+deb12u15"))
    latest = declare(Package, "base-files", ensure="latest")
    assert converge(latest, system, apt) == [("ensure", "12.4+deb12u11", "12.4+deb12u15")]
    assert system.lines("apt-get") == [f"apt-get {APT} install -- base-files"]


def test_unknown_package_runs_one_update_then_fails() -> None:
    system, apt = setup()
    with pytest.raises(HostError, match=r"^unknown package tendtest-nope: no apt source offers it"):
        converge(declare(Package, "tendtest-nope"), system, apt)
    assert system.ran == [
        f"apt-cache {CACHE} policy -- tendtest-nope",
        f"apt-get {APT} update",
        f"apt-cache {CACHE} policy -- tendtest-nope",
    ]


def test_remove_and_purge() -> None:
    system, apt = setup()
    assert converge(declare(Package, "adduser", ensure="absent"), system, apt) == [("ensure", "3.134", "absent")]
    assert converge(declare(Package, "cron", ensure="purged"), system, apt) == [("ensure", "absent", "purged")]
    assert system.ran == [f"apt-get {APT} remove -- adduser", f"apt-get {APT} purge -- cron"]


def test_under_a_root_apt_and_dpkg_are_pointed_at_it() -> None:
    system, apt = setup("/tmp/r")
    system.on("apt-cache policy -- cron", stdout=policy("cron", "3.0"))
    converge(declare(Package, "cron"), system, apt)
    root = "-o Dir=/tmp/r -o DPkg::Options::=--root=/tmp/r"
    assert system.lines("apt-get") == [f"apt-get {APT} {root} install -- cron"]
    assert Path("/tmp/r/var/cache/apt/archives/partial") in system.directories
