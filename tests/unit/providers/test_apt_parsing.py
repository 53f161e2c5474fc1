"""Pure parts of the apt provider: the dpkg status file, `apt-cache policy` output, Debian version order, options."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.providers.apt import Policy, configured_options, parse_dpkg_status, parse_policy
from agent.providers.debversion import compare_versions, is_version

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def status() -> dict:
    # Three stanzas of a real Debian 12 status file, then hand-written ones for the states a test host lacks.
    return parse_dpkg_status((FIXTURES / "dpkg-status").read_text())


def test_installed_packages_with_their_versions(status: dict) -> None:
    assert status["adduser"].version == "3.134" and status["adduser"].installed
    assert status["base-files"].version == "12.4+deb12u11"  # a field (Essential) before Status
    assert not status["adduser"].held and not status["adduser"].broken


def test_foreign_architecture_entries_do_not_hide_the_installed_one(status: dict) -> None:
    assert status["libc6"].installed and status["libc6"].architecture == "amd64"
    assert status["libc6:i386"].state == "not-installed"
    assert status["libc6:amd64"] is status["libc6"]


def test_removed_held_and_broken_states(status: dict) -> None:
    cron = status["cron"]
    assert (cron.want, cron.state, cron.installed) == ("deinstall", "config-files", False)
    assert status["tendtest-held"].held and status["tendtest-held"].installed
    broken = status["tendtest-broken"]
    assert broken.broken and broken.flag == "reinstreq" and broken.state == "half-configured"


def test_continuation_lines_are_not_fields() -> None:
    text = "Package: a\nStatus: install ok installed\nDescription: x\n Package: b\n Version: 9\nVersion: 1\n"
    assert list(parse_dpkg_status(text)) == ["a"] and parse_dpkg_status(text)["a"].version == "1"


def test_an_empty_or_damaged_file() -> None:
    assert parse_dpkg_status("") == {}
    assert parse_dpkg_status("Package: a\nStatus: install\n\n") == {}


def test_apt_cache_policy() -> None:
    policy = parse_policy((FIXTURES / "apt-cache-policy.txt").read_text())
    assert policy["tendtest-exp"] == Policy("2.0", ("2.0", "1.0"))
    assert policy["tendtest-dep"] == Policy("1.0", ("1.0",))
    assert policy["mail-transport-agent"] == Policy(None, ())  # virtual: known, nothing to install
    assert policy["base-files"] == Policy("12.4+deb12u15", ("12.4+deb12u15", "12.4+deb12u11"))
    assert "nosuch" not in policy


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.0", "1.0", 0),
        ("1.0", "2.0", -1),
        ("1.10", "1.9", 1),
        ("1.0~rc1", "1.0", -1),
        ("1.0", "1.0+b1", -1),
        ("1:0.9", "2.0", 1),
        ("1.0-1", "1.0-2", -1),
        ("1.0", "1.0-0", 0),
        ("12.4+deb12u11", "12.4+deb12u15", -1),
        ("2.36-9+deb12u14", "2.36-9+deb12u9", 1),
        ("1.0a", "1.0", 1),
        ("1.0a", "1.0+", -1),
        ("0001", "1", 0),
        ("3.0pl1-162", "3.0pl1-162", 0),
    ],
)
def test_version_order_matches_dpkg(a: str, b: str, sign: int) -> None:
    assert (compare_versions(a, b) > 0) - (compare_versions(a, b) < 0) == sign
    assert (compare_versions(b, a) > 0) - (compare_versions(b, a) < 0) == -sign


def test_what_a_version_looks_like() -> None:
    assert is_version("1.0") and is_version("2:1.2.3-1~deb12u1")
    assert not is_version("installed") and not is_version("") and not is_version("1.0 2")


def test_apt_options_from_configuration_then_environment() -> None:
    options = configured_options(
        {"options": ["-o", "Acquire::Retries=3"]}, {"TEND_APT_OPTIONS": "-o 'Dir::Cache=/a b'"}
    )
    assert options == ("-o", "Acquire::Retries=3", "-o", "Dir::Cache=/a b")
    assert configured_options({}, {}) == ()
    with pytest.raises(ConfigError, match="options must be a list of strings"):
        configured_options({"options": "-o x"}, {})
    with pytest.raises(ConfigError, match="unknown key 'option'"):
        configured_options({"option": []}, {})
