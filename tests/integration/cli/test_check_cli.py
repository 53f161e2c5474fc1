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


def test_check_flags_stages_without_hosts_and_hosts_in_no_stage(tend, tmp_path: Path) -> None:
    """§8.3: pipeline.yaml against the inventory, each problem at its file:line."""
    repo = tmp_path / "site"
    repo.mkdir()
    for part in ("hiera.yaml", "hieradata", "manifests", "templates", "files", "keys"):
        source = PROJECT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, repo / part)
    (repo / "pipeline.yaml").write_text("stages:\n  staging: {}\n  prod: {after: [staging]}\n")
    assert tend(["check", "--repo", str(repo)]).returncode == 0

    (repo / "pipeline.yaml").write_text("stages:\n  stagng: {}\n  prod: {after: [stagng]}\n  qa: {}\n")
    result = tend(["check", "--repo", str(repo)])
    assert result.returncode == 1
    assert "7 of 7 hosts compile" in result.stdout
    assert (
        "keys/inventory.yaml:8: host app-stg1: environment 'staging' is no stage of pipeline.yaml "
        "(did you mean 'stagng'?)" in result.stderr
    )
    assert "pipeline.yaml:4: stage qa has no inventory host" in result.stderr
