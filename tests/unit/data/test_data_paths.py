"""Every resolved data path lies inside the repository (DESIGN §8.6): refused with hiera.yaml:line and the level."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.data.config import load_hiera_config
from agent.data.hiera import Hiera
from agent.errors import ConfigError, DataError, TendError

OUTSIDE_VALUE = "outside-the-repo-do-not-print"


def site(tmp_path: Path, level: str, datadir: str = "hieradata") -> Path:
    """A repository whose second hierarchy entry (hiera.yaml line 5) is `level`; a file outside it."""
    (tmp_path / "outside.yaml").write_text(f"secret::x: {OUTSIDE_VALUE}\n")
    repo = tmp_path / "repo"
    (repo / "hieradata").mkdir(parents=True)
    (repo / "hieradata/common.yaml").write_text("common::x: 1\n")
    (repo / "hiera.yaml").write_text(
        f"version: 5\ndefaults: {{datadir: {datadir}}}\nhierarchy:\n"
        f"  - {{name: Common, path: common.yaml}}\n  - {{name: Sneaky, {level}}}\n"
    )
    return repo


@pytest.mark.parametrize(
    ("level", "datadir"),
    [
        ("path: /etc/passwd", "hieradata"),
        (f"path: {'/tmp/x'}", "hieradata"),
        ("path: ../../outside.yaml", "hieradata"),
        ("paths: [a.yaml, ../../outside.yaml]", "hieradata"),
        ("glob: ../../*.yaml", "hieradata"),
        ("mapped_paths: [facts.list, x, '../../%{x}.yaml']", "hieradata"),
        ("path: x.yaml, datadir: /etc", "hieradata"),
        ("path: x.yaml, datadir: ../", "hieradata"),
    ],
)
def test_a_level_that_leaves_the_repository_is_refused(tmp_path: Path, level: str, datadir: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_hiera_config(site(tmp_path, level, datadir))
    message = str(raised.value)
    assert message.startswith("hiera.yaml:5: hierarchy entry 'Sneaky': ")
    assert "outside the repository" in message


def test_a_path_back_inside_the_repository_is_fine(tmp_path: Path) -> None:
    repo = site(tmp_path, "path: nodes/../common.yaml")
    assert Hiera(repo).context({"hostname": "h"}).lookup_value("common::x") == 1


@pytest.mark.parametrize("hostname", ["../../../outside", "../../../../tmp/x", "a/../../../../outside"])
def test_a_variable_that_takes_the_path_outside_is_refused(tmp_path: Path, hostname: str) -> None:
    repo = site(tmp_path, "path: 'nodes/%{facts.hostname}.yaml'")
    with pytest.raises(ConfigError) as raised:
        Hiera(repo).context({"hostname": hostname}).lookup_value("secret::x")
    message = str(raised.value)
    assert message.startswith("hiera.yaml:5: hierarchy entry 'Sneaky': ")
    assert "outside the repository" in message and OUTSIDE_VALUE not in message


def test_a_symlinked_data_file_pointing_outside_is_refused(tmp_path: Path) -> None:
    repo = site(tmp_path, "path: 'nodes/%{facts.hostname}.yaml'")
    (repo / "hieradata/nodes").mkdir()
    os.symlink(tmp_path / "outside.yaml", repo / "hieradata/nodes/web1.yaml")
    with pytest.raises(DataError) as raised:
        Hiera(repo).context({"hostname": "web1"}).lookup_value("secret::x")
    message = str(raised.value)
    assert message.startswith("hieradata/nodes/web1.yaml: ")
    assert "outside the repository" in message and OUTSIDE_VALUE not in message


def test_a_symlinked_datadir_pointing_outside_is_refused(tmp_path: Path) -> None:
    repo = site(tmp_path, "path: outside.yaml", datadir="linked")
    os.symlink(tmp_path, repo / "linked")
    with pytest.raises(TendError) as raised:
        Hiera(repo).context({"hostname": "web1"}).lookup_value("secret::x")
    assert "outside the repository" in str(raised.value)


def test_a_symlink_inside_the_repository_is_fine(tmp_path: Path) -> None:
    repo = site(tmp_path, "path: 'nodes/%{facts.hostname}.yaml'")
    (repo / "hieradata/nodes").mkdir()
    os.symlink("../common.yaml", repo / "hieradata/nodes/web1.yaml")
    assert Hiera(repo).context({"hostname": "web1"}).lookup_value("common::x") == 1
