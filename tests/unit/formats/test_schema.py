"""The one key checker: unknown keys with a suggestion, required keys, the error of the file's kind at its line."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError, ManifestError
from agent.formats import check_keys, did_you_mean, read_yaml


def test_did_you_mean() -> None:
    assert did_you_mean("hierachy", ["version", "hierarchy", "defaults"]) == " (did you mean 'hierarchy'?)"
    assert did_you_mean("zzz", ["version", "hierarchy"]) == ""
    assert did_you_mean("x", []) == ""


def test_an_unknown_key_names_its_line_and_the_key_meant() -> None:
    document = read_yaml("version: 5\n\nhierachy: []\n", "hiera.yaml", error=ConfigError)
    with pytest.raises(ConfigError) as raised:
        check_keys(document, document.value, allowed={"version", "hierarchy", "defaults"})
    assert str(raised.value) == "hiera.yaml:3: unknown key 'hierachy' (did you mean 'hierarchy'?)"


def test_an_unknown_key_with_nothing_close_lists_the_known_ones() -> None:
    document = read_yaml("source:\n  git: x\n  zzz: 1\n", "agent.yaml", error=ConfigError)
    with pytest.raises(ConfigError) as raised:
        check_keys(document, document.value["source"], ("source",), allowed=("git", "branch"), prefix="source: ")
    assert str(raised.value) == "agent.yaml:3: source: unknown key 'zzz' (known: branch, git)"


def test_a_missing_required_key_is_reported_at_its_hash_in_the_files_kind_of_error() -> None:
    document = read_yaml("a: 1\nlevel:\n  path: x\n", "m.yaml", error=ManifestError)
    with pytest.raises(ManifestError) as raised:
        check_keys(document, document.value["level"], ("level",), allowed=("name", "path"), required=("name",))
    assert str(raised.value) == "m.yaml:2: missing key 'name'"


def test_known_keys_pass() -> None:
    document = read_yaml("name: a\npath: b\n", "f.yaml", error=ConfigError)
    check_keys(document, document.value, allowed=("name", "path"), required=("name",))
