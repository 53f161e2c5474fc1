"""The apt_source type with the apt provider on a fake host: deb822 text, its keyring, --root, absent, stale lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ManifestError
from agent.resources.apt_source import AptSource
from agent.resources.package import Package
from tests.unit.fakes import converge, declare
from tests.unit.resources.test_package import APT, policy, setup

KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n"
SOURCE = {"uris": "https://deb.example.org/debian", "suites": ["bookworm", "bookworm-updates"], "key": KEY}


def test_a_source_is_a_deb822_file_signed_by_its_own_keyring(tmp_path: Path) -> None:
    system, apt = setup(updated_ago=60, state=tmp_path)
    source = declare(AptSource, "example", components=["main", "contrib"], architectures="amd64", **SOURCE)
    assert converge(source, system, apt) == [("ensure", "absent", "present")]
    assert system.text("/etc/apt/sources.list.d/example.sources") == (
        "# Managed by tend (apt_source:example): changes here are overwritten.\n"
        "Types: deb\nURIs: https://deb.example.org/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main contrib\nArchitectures: amd64\nSigned-By: /etc/apt/keyrings/example.asc\n"
    )
    assert system.text("/etc/apt/keyrings/example.asc") == KEY
    assert converge(source, system, apt) == []


def test_under_a_root_both_files_and_the_signed_by_path_are_inside_it() -> None:
    system, apt = setup("/tmp/r")
    converge(declare(AptSource, "example", **SOURCE), system, apt)
    text = system.text("/tmp/r/etc/apt/sources.list.d/example.sources")
    assert "Signed-By: /tmp/r/etc/apt/keyrings/example.asc\n" in text
    assert system.text("/tmp/r/etc/apt/keyrings/example.asc") == KEY


def test_a_changed_source_reports_the_summary_and_backs_up_the_old_file() -> None:
    system, apt = setup()
    converge(declare(AptSource, "example", **SOURCE), system, apt)
    changed = declare(AptSource, "example", **{**SOURCE, "suites": "trixie"})
    assert converge(changed, system, apt)[0][2] == "deb https://deb.example.org/debian trixie"
    assert b"bookworm-updates" in system.backups[-1]


def test_absent_removes_the_source_then_its_keyring() -> None:
    system, apt = setup()
    converge(declare(AptSource, "example", **SOURCE), system, apt)
    assert converge(declare(AptSource, "example", ensure="absent"), system, apt) == [("ensure", "present", "absent")]
    assert not any("example" in str(path) for path in system.files)


def test_a_written_source_makes_the_next_install_update_the_lists_once(tmp_path: Path) -> None:
    system, apt = setup(updated_ago=60, state=tmp_path)
    system.on("apt-cache policy -- cron", stdout=policy("cron", "3.0"))
    converge(declare(AptSource, "example", **SOURCE), system, apt)
    converge(declare(Package, "cron"), system, apt)
    assert system.lines("apt-get") == [f"apt-get {APT} update", f"apt-get {APT} install -- cron"]
    assert (tmp_path / "apt-lists.json").read_text() == '{"/": 1700000000.0}'


def test_packages_require_every_source() -> None:
    assert declare(Package, "cron").implicit_requires() == ["apt_source:*"]


@pytest.mark.parametrize(
    ("title", "values", "message"),
    [
        ("bad name", SOURCE, "apt reads only names of letters"),
        ("example", {**SOURCE, "key": "not a key"}, "key must be an ASCII-armored public key"),
        ("example", {"uris": "https://x", "key": KEY}, "'suites' is required"),
        ("example", {**SOURCE, "components": ["main contrib"]}, "each entry must be one word"),
    ],
)
def test_errors_name_the_line(title: str, values: dict, message: str) -> None:
    with pytest.raises(ManifestError, match=rf"manifests/site.yaml:4: apt_source:{title}: .*{message}"):
        declare(AptSource, title, **values)
