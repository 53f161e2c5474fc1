"""`tend check` over the bundled example site and over a broken copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import PROJECT


def test_every_example_host_compiles(tend) -> None:
    result = tend(["check"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 of 7 hosts compile" in result.stdout
    assert "ok   web1: 19 resources, classes nginx, base" in result.stdout


def test_a_broken_class_fails_the_hosts_that_use_it(tend, tmp_path: Path) -> None:
    repo = tmp_path / "site"
    repo.mkdir()
    for part in ("hiera.yaml", "hieradata", "manifests", "templates", "files", "keys"):
        source = PROJECT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, repo / part)
    manifest = repo / "manifests/db.yaml"
    manifest.write_text(manifest.read_text().replace('mode: "0644"', 'mdoe: "0644"'))
    result = tend(["check", "--repo", str(repo)])
    assert result.returncode == 1
    assert "FAIL db1: manifests/db.yaml:12: file:/etc/postgresql/tend.conf: unknown attribute 'mdoe'" in result.stdout
    assert "ok   web1" in result.stdout
    assert "5 of 7 hosts compile" in result.stdout
