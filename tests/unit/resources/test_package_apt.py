"""The package type's apt additions on a fake host: plan's verdict on unknown packages, recommends, debconf on
stdin, and failures in apt's and dpkg's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import HostError
from agent.location import Location
from agent.resources.package import Package
from agent.secrets.secret import Secret
from tests.unit.fakes import converge, declare
from tests.unit.resources.test_package import APT, CACHE, policy, setup

NOT_LISTED = "installed (not in current lists)"


def test_plan_fails_an_unknown_package_when_the_lists_are_fresh(tmp_path: Path) -> None:
    system, apt = setup(updated_ago=60, state=tmp_path, noop=True)
    package = declare(Package, "tendtest-nope")
    with pytest.raises(HostError, match=r"^unknown package tendtest-nope: no apt source offers it \(the package lists"):
        package.current(system, apt)
    assert system.lines("apt-get") == []


def test_plan_with_old_lists_or_a_changing_source_says_not_in_current_lists(tmp_path: Path) -> None:
    for updated_ago in (None, 7200):
        system, apt = setup(updated_ago=updated_ago, state=tmp_path, noop=True)
        package = declare(Package, "tendtest-nope")
        changes = package.changes(package.desired(), package.current(system, apt))
        assert [(c.property, c.new) for c in changes] == [("ensure", NOT_LISTED)]
        assert system.lines("apt-get") == []
    system, apt = setup(updated_ago=60, state=tmp_path, noop=True)
    package = declare(Package, "tendtest-nope")
    # A source on the host that the catalog wants absent: the lists will change.
    system.put("/etc/apt/sources.list.d/site.sources", "Types: deb\n")
    apt.source("site", None)
    assert package.changes(package.desired(), package.current(system, apt))[0].new == NOT_LISTED


def test_a_version_apt_does_not_offer_fails_in_plan_with_what_it_offers(tmp_path: Path) -> None:
    system, apt = setup(updated_ago=60, state=tmp_path, noop=True)
    system.on("apt-cache policy -- cron", stdout=policy("cron", "3.0", "3.0", "2.9"))
    with pytest.raises(HostError, match=r"^cron 4.0 is not available \(apt offers: 3.0, 2.9; the package lists"):
        declare(Package, "cron", ensure="4.0").current(system, apt)


def test_install_recommends_on_off_and_apts_own_default() -> None:
    for value, option in ((True, "-o APT::Install-Recommends=true "), (False, "-o APT::Install-Recommends=false "),
                          (None, "")):  # fmt: skip
        system, apt = setup()
        system.on("apt-cache policy -- cron", stdout=policy("cron", "3.0"))
        converge(declare(Package, "cron", **({} if value is None else {"install_recommends": value})), system, apt)
        assert system.lines("apt-get") == [f"apt-get {APT} install {option}-- cron"]


def test_debconf_answers_go_on_stdin_before_the_install() -> None:
    system, apt = setup()
    system.on("apt-cache policy -- cron", stdout=policy("cron", "3.0"))
    secret = Secret("s3cret-value", key="cron::password", file="data/common.yaml")
    answers = {
        "cron/password": {"type": "password", "value": secret},
        "cron/enabled": {"type": "boolean", "value": True},
        "shared/other": {"type": "string", "value": "x y"},
    }
    converge(declare(Package, "cron", debconf=answers), system, apt)
    assert [line.split(" ")[0] for line in system.ran] == ["apt-cache", "debconf-set-selections", "apt-get"]
    stdin = system.stdin[system.ran.index("debconf-set-selections")]
    assert stdin.decode().splitlines() == [
        "cron cron/enabled boolean true",
        "cron cron/password password s3cret-value",
        "cron shared/other string x y",
    ]
    assert not any("s3cret" in line for line in system.ran)


def test_debconf_under_a_root_writes_the_roots_database() -> None:
    system, apt = setup("/tmp/r")
    system.on("apt-cache policy -- cron", stdout=policy("cron", "3.0"))
    seen: list[dict[str, str]] = []
    run = system.run
    system.run = lambda argv, **options: (seen.append(options.get("env") or {}), run(argv, **options))[1]  # type: ignore[method-assign]
    converge(declare(Package, "cron", debconf={"cron/x": {"type": "string", "value": "y"}}), system, apt)
    assert seen[system.ran.index("debconf-set-selections")]["DPKG_ROOT"] == "/tmp/r"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"nopackage": {"type": "string", "value": "x"}}, "'nopackage' is not a question name"),
        ({"cron/x": {"type": "secret", "value": "x"}}, "cron/x: type must be one of string, password"),
        ({"cron/x": {"value": "x"}}, "cron/x must be a hash of type and value"),
        ({"cron/x": {"type": "string", "value": [1]}}, "cron/x: value must be a string"),
    ],
)
def test_debconf_shape_errors_name_the_line(answers: dict, message: str) -> None:
    resource = Package(title="cron", values={"debconf": answers}, location=Location("manifests/site.yaml", 4),
                       attribute_lines={"debconf": 6})  # fmt: skip
    with pytest.raises(Exception, match=rf"manifests/site.yaml:6: package:cron: debconf: .*{message}"):
        resource.check_attributes()


def test_a_failed_install_keeps_the_scripts_own_lines_and_apts_warnings() -> None:
    system, apt = setup()
    system.on("apt-cache policy -- cron", stdout=policy("cron", "3.0"))
    stdout = (
        "Preparing to unpack .../cron_3.0_all.deb ...\nUnpacking cron (3.0) ...\nSetting up cron (3.0) ...\n"
        "cron: the answer was not what I expected\n"
        "dpkg: error processing package cron (--configure):\n"
        " installed cron package post-installation script subprocess returned error exit status 1\n"
    )
    stderr = "W: Some index files failed to download.\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n"
    system.on("apt-get install", stdout=stdout, stderr=stderr, returncode=100)
    with pytest.raises(HostError) as raised:
        converge(declare(Package, "cron"), system, apt)
    assert str(raised.value) == (
        "apt-get install failed: Sub-process /usr/bin/dpkg returned an error code (1); "
        "W: Some index files failed to download.; dpkg said: cron: the answer was not what I expected | "
        "dpkg: error processing package cron (--configure): | "
        "installed cron package post-installation script subprocess returned error exit status 1"
    )


def test_a_missing_key_names_the_key(tmp_path: Path) -> None:
    system, apt = setup(updated_ago=7200, state=tmp_path)
    stderr = (
        "W: GPG error: file:/repo ./ InRelease: The following signatures couldn't be verified because the public "
        "key is not available: NO_PUBKEY 3426921DDECCDEDE\nE: The repository 'file:/repo ./ InRelease' is not signed.\n"
    )
    system.on("apt-get update", stderr=stderr, returncode=100)
    with pytest.raises(HostError, match=r"is not signed.; W: GPG error: .* NO_PUBKEY 3426921DDECCDEDE"):
        converge(declare(Package, "cron", ensure="latest"), system, apt)
    assert f"apt-cache {CACHE}" not in " ".join(system.ran)
