"""`tend check` never prints a file from outside the repository: a host named `../../etc` or an absolute
level is an error naming the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import PROJECT

MARK = "outside-the-repo-do-not-print"


def copy_site(tmp_path: Path) -> Path:
    repo = tmp_path / "site"
    repo.mkdir()
    for part in ("hiera.yaml", "hieradata", "manifests", "templates", "keys"):
        source = PROJECT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, repo / part)
    (tmp_path / "etc.yaml").write_text(f"classes: [base]\nbase::motd: {MARK}\n")
    return repo


def test_a_host_named_with_dots_and_slashes_is_refused(tend, tmp_path: Path) -> None:
    repo = copy_site(tmp_path)
    inventory = repo / "keys/inventory.yaml"
    lines = inventory.read_text().splitlines()
    lines.insert(2, "  ../../../etc: {role: web, environment: prod}")
    inventory.write_text("\n".join(lines) + "\n")
    result = tend(["check", "--repo", str(repo)])
    assert result.returncode == 1
    assert "keys/inventory.yaml:3: host '../../../etc': not a host name" in result.stderr + result.stdout
    assert MARK not in result.stdout + result.stderr


def test_an_absolute_level_is_refused(tend, tmp_path: Path) -> None:
    repo = copy_site(tmp_path)
    hiera = repo / "hiera.yaml"
    hiera.write_text(hiera.read_text().replace("path: common.yaml", f"path: {tmp_path}/etc.yaml"))
    line = next(i for i, text in enumerate(hiera.read_text().splitlines(), 1) if "name: Common" in text)
    result = tend(["check", "--repo", str(repo)])
    assert result.returncode == 1
    assert f"hiera.yaml:{line}: hierarchy entry 'Common': " in result.stderr + result.stdout
    assert MARK not in result.stdout + result.stderr
