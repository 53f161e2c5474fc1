"""Executable facts: their output parsed (JSON, key=value, YAML), their failures warnings naming them."""

from __future__ import annotations

import pytest

from agent.errors import FactsError
from agent.facts.external import parse_output
from agent.facts.machine import container_hint, timezone
from agent.facts.os_release import os_facts


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ('{"rack": "r1", "slots": [1, 2]}', {"rack": "r1", "slots": [1, 2]}),
        ("rack=r1\n# a comment\nrole = web\n", {"rack": "r1", "role": "web"}),
        ("rack: r1\nlinks: {a: 1}\n", {"rack": "r1", "links": {"a": 1}}),
        ("url: http://x/?a=b\n", {"url": "http://x/?a=b"}),
        ("", {}),
    ],
)
def test_output_forms(text: str, facts: dict) -> None:
    assert parse_output(text, source="/etc/tend/facts.d/rack") == facts


def test_output_that_is_no_mapping_names_the_file() -> None:
    with pytest.raises(FactsError, match=r"/etc/tend/facts\.d/rack"):
        parse_output("- a\n- b\n", source="/etc/tend/facts.d/rack")


def test_container_hints(tmp_path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1/environ").write_bytes(b"PATH=/bin\0container=systemd-nspawn\0")
    assert container_hint(tmp_path, tmp_path) == "systemd-nspawn"
    (tmp_path / "1/environ").write_bytes(b"PATH=/bin\0")
    assert container_hint(tmp_path, tmp_path) is None
    (tmp_path / ".dockerenv").touch()
    assert container_hint(tmp_path, tmp_path) == "docker"


def test_timezone_from_the_file_or_the_link(tmp_path) -> None:
    (tmp_path / "localtime").symlink_to("/usr/share/zoneinfo/Europe/Paris")
    assert timezone(tmp_path) == "Europe/Paris"
    (tmp_path / "timezone").write_text("Etc/UTC\n")
    assert timezone(tmp_path) == "Etc/UTC"


def test_minor_release() -> None:
    assert os_facts({"ID": "debian", "VERSION_ID": "12"}, "12.7")["release"] == {
        "full": "12.7",
        "major": "12",
        "minor": "7",
    }
