"""As root, the current directory is the default repository only when root owns it and nobody else can
write it (DESIGN §8.6): another user's checkout, or a world-writable one, must be named with --repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_tend
from tests.integration.system.otheruser import OtherUser, open_dir, other_user  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the rule is root's")

HIERA = "version: 5\nhierarchy:\n  - name: Common\n    path: common.yaml\n"


def _checkout(base: Path, out: Path) -> Path:
    repo = base / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "manifests").mkdir()
    (repo / "hiera.yaml").write_text(HIERA)
    (repo / "data" / "common.yaml").write_text("classes: [site]\n")
    (repo / "manifests" / "site.yaml").write_text(f"resources:\n  - file: {out}/pwned\n    content: x\n")
    return repo


def _apply(repo: Path, state: Path, *extra: str):
    return run_tend(["apply", "--state-dir", str(state), *extra], cwd=repo)


def test_another_users_directory_is_not_applied_without_repo(
    other_user: OtherUser,  # noqa: F811
    open_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    repo = _checkout(open_dir, tmp_path)
    for path in (repo, *repo.rglob("*")):
        os.chown(path, other_user.uid, other_user.gid)
    done = _apply(repo, tmp_path / "state")
    assert done.returncode == 1
    assert "--repo" in done.stderr and "owned by" in done.stderr
    assert not (tmp_path / "pwned").exists()


def test_a_root_owned_directory_others_can_write_is_not_applied_without_repo(
    open_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    repo = _checkout(open_dir, tmp_path)
    repo.chmod(0o777)
    done = _apply(repo, tmp_path / "state")
    assert done.returncode == 1
    assert "--repo" in done.stderr and "writable" in done.stderr
    assert not (tmp_path / "pwned").exists()


def test_naming_the_directory_with_repo_applies_it(
    other_user: OtherUser,  # noqa: F811
    open_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    repo = _checkout(open_dir, tmp_path)
    for path in (repo, *repo.rglob("*")):
        os.chown(path, other_user.uid, other_user.gid)
    done = _apply(repo, tmp_path / "state", "--repo", str(repo))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pwned").read_text() == "x"


def test_roots_own_private_directory_is_the_default(open_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    repo = _checkout(open_dir, tmp_path)
    repo.chmod(0o755)
    done = _apply(repo, tmp_path / "state")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pwned").read_text() == "x"
