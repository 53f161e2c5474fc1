"""The package type with the apt provider on a fake host: dpkg's status file and apt's answers in, apt-get lines out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import HostError, ManifestError
from agent.providers.apt import Apt
from agent.providers.options import ProviderOptions
from agent.providers.packages import PackageState
from agent.resources.package import Package
from tests.unit.fakes import FakeSystem, converge, declare

STATUS = (Path(__file__).parents[1] / "providers/fixtures/dpkg-status").read_text()
APT = "-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef"
CACHE = "-q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef"


def policy(name: str, candidate: str, *versions: str) -> str:
    table = "".join(f"     {v} 500\n        500 file:/repo ./ Packages\n" for v in versions or (candidate,))
    return f"{name}:\n  Installed: (none)\n  Candidate: {candidate}\n  Version table:\n{table}"


NOW = 1_700_000_000.0


def setup(
    root: str = "/", *, updated_ago: float | None = None, noop: bool = False, state: Path | None = None
) -> tuple[FakeSystem, Apt]:
    """A fake host with the fixture's dpkg database; tend's record of its last apt-get update `updated_ago` s
    in the real state directory `state` (tend's own file, not a host path; without it nothing is recorded)."""
    system = FakeSystem(root, files={f"{root.rstrip('/')}/var/lib/dpkg/status": STATUS})
    if updated_ago is not None:
        assert state is not None, "a record of the last update needs a state directory"
        (state / "apt-lists.json").write_text(json.dumps({root: NOW - updated_ago}))
    options = ProviderOptions(state_dir=state, noop=noop, clock=lambda: NOW)
    return system, Apt(system, options, lambda text: None)


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


def test_a_downgrade_not_allowed_fails_before_any_command() -> None:
    system, apt = setup()
    with pytest.raises(HostError, match=r"installing adduser 3.100 would downgrade it from 3.134; set allow_down"):
        converge(declare(Package, "adduser", ensure="3.100"), system, apt)
    assert system.ran == []


def test_a_held_package_is_unheld_for_a_change_then_held_again() -> None:
    """Held packages used to be refused; they are managed now (DESIGN §2, package hold)."""
    system, apt = setup()
    system.on("apt-cache policy -- tendtest-held", stdout=policy("tendtest-held", "2.0", "2.0", "1.0"))
    assert converge(declare(Package, "tendtest-held", ensure="2.0"), system, apt) == [("ensure", "1.0", "2.0")]
    assert [line for line in system.ran if "apt-cache" not in line] == [
        f"apt-mark {CACHE} unhold -- tendtest-held",
        f"apt-get {APT} install -- tendtest-held=2.0",
        f"apt-mark {CACHE} hold -- tendtest-held",
    ]


def test_hold_is_a_property_managed_with_apt_mark() -> None:
    system, apt = setup()
    assert converge(declare(Package, "adduser", hold=True), system, apt) == [("hold", False, True)]
    assert converge(declare(Package, "tendtest-held", hold=True), system, apt) == []
    assert converge(declare(Package, "tendtest-held", hold=False), system, apt) == [("hold", True, False)]
    pair = declare(Package, "pair", name=["adduser", "tendtest-held"], hold=True)
    assert converge(pair, system, apt) == [("hold", ["tendtest-held"], ["adduser", "tendtest-held"])]
    assert system.ran == [
        f"apt-mark {CACHE} hold -- adduser",
        f"apt-mark {CACHE} unhold -- tendtest-held",
        f"apt-mark {CACHE} hold -- adduser tendtest-held",
    ]


def test_hold_needs_the_package_installed() -> None:
    with pytest.raises(ManifestError, match=r"site.yaml:4: .*hold: true needs the package installed, not ensure"):
        declare(Package, "cron", ensure="absent", hold=True)


def test_a_package_dpkg_did_not_finish_fails() -> None:
    system, apt = setup()
    with pytest.raises(HostError, match=r"tendtest-broken is half-configured \(reinstreq\): dpkg did not finish"):
        converge(declare(Package, "tendtest-broken"), system, apt)


def test_latest_with_fresh_lists_upgrades_without_apt_get_update(tmp_path: Path) -> None:
    system, apt = setup(updated_ago=600, state=tmp_path)
    system.on("apt-cache policy -- base-files", stdout=policy("base-files", "12.4+deb12u15"))
    latest = declare(Package, "base-files", ensure="latest")
    assert converge(latest, system, apt) == [("ensure", "12.4+deb12u11", "12.4+deb12u15")]
    assert system.lines("apt-get") == [f"apt-get {APT} install -- base-files"]


def test_latest_with_old_lists_updates_them_once_and_records_when(tmp_path: Path) -> None:
    system, apt = setup(updated_ago=7200, state=tmp_path)
    system.on("apt-cache policy -- base-files", stdout=policy("base-files", "12.4+deb12u15"))
    for name in ("base-files", "adduser"):
        converge(declare(Package, name, ensure="latest"), system, apt)
    assert system.lines("apt-get") == [f"apt-get {APT} update", f"apt-get {APT} install -- base-files"]
    assert json.loads((tmp_path / "apt-lists.json").read_text()) == {"/": NOW}


def test_an_upgrade_by_latest_is_never_drift_but_a_removal_is() -> None:
    package = declare(Package, "base-files", ensure="latest")
    upgrade = package.changes(package.desired(), {"ensure": PackageState("1.0", "installed", candidate="2.0")})
    removed = package.changes(package.desired(), {"ensure": PackageState(None, "absent", candidate="2.0")})
    assert [c.drift for c in upgrade] == [False] and [c.drift for c in removed] == [True]


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
