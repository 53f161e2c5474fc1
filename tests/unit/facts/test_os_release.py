"""parse_os_release and os_facts on the os-release files of real distributions."""

from pathlib import Path

import pytest

from agent.facts.os_release import os_facts, parse_os_release

FIXTURES = Path(__file__).parent / "fixtures" / "os-release"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_parse_unquotes_values_and_keeps_unquoted_ones():
    release = parse_os_release(fixture("debian-12"))
    assert release["NAME"] == "Debian GNU/Linux"
    assert release["VERSION_ID"] == "12"
    assert release["VERSION_CODENAME"] == "bookworm"
    assert release["ID"] == "debian"


def test_parse_skips_comments_blank_and_malformed_lines():
    text = "# a comment\n\nID=debian\nnot a variable\nlower=x\nNAME=\"unbalanced\nVERSION_ID='12'\n"
    assert parse_os_release(text) == {"ID": "debian", "VERSION_ID": "12"}


def test_parse_undoes_shell_escapes():
    assert parse_os_release(r'PRETTY_NAME="say \"hi\" for \$5"')["PRETTY_NAME"] == 'say "hi" for $5'


@pytest.mark.parametrize(
    ("name", "debian_version", "expected"),
    [
        (
            "debian-12",
            "12.5\n",
            {
                "family": "Debian",
                "name": "Debian",
                "release": {"full": "12.5", "major": "12", "minor": "5"},
                "codename": "bookworm",
            },
        ),
        (
            "ubuntu-22.04",
            "bookworm/sid\n",
            {
                "family": "Debian",
                "name": "Ubuntu",
                "release": {"full": "22.04", "major": "22.04", "minor": None},
                "codename": "jammy",
            },
        ),
        (
            "rocky-9",
            None,
            {
                "family": "RedHat",
                "name": "Rocky",
                "release": {"full": "9.3", "major": "9", "minor": "3"},
                "codename": None,
            },
        ),
        (
            "alpine-3.19",
            None,
            {
                "family": "Alpine",
                "name": "Alpine",
                "release": {"full": "3.19.1", "major": "3", "minor": "19"},
                "codename": None,
            },
        ),
    ],
)
def test_os_facts_of_real_distributions(name, debian_version, expected):
    assert os_facts(parse_os_release(fixture(name)), debian_version) == expected


def test_debian_without_debian_version_keeps_the_os_release_version():
    assert os_facts(parse_os_release(fixture("debian-12")))["release"] == {"full": "12", "major": "12", "minor": None}


def test_debian_version_of_another_release_is_ignored():
    facts = os_facts(parse_os_release(fixture("debian-12")), "trixie/sid\n")
    assert facts["release"]["full"] == "12"


def test_unknown_distribution_takes_its_family_from_id_like():
    facts = os_facts({"ID": "pop", "ID_LIKE": "ubuntu debian", "VERSION_ID": "22.04"})
    assert (facts["family"], facts["name"]) == ("Debian", "Pop")


def test_unknown_distribution_without_a_known_family_is_its_own_family():
    facts = os_facts({"ID": "nixos", "VERSION_ID": "23.11"})
    assert (facts["family"], facts["name"]) == ("Nixos", "Nixos")


def test_empty_os_release_gives_unknown_values():
    assert os_facts(parse_os_release("")) == {
        "family": None,
        "name": None,
        "release": {"full": None, "major": None, "minor": None},
        "codename": None,
    }


def test_single_quotes_keep_backslashes():
    assert parse_os_release(r"NAME='a \$b'")["NAME"] == r"a \$b"
