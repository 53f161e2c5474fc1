"""A revision of an admin's control repository as a directory to compile, with a digest that names its content."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.bundles.git import git
from agent.errors import ConfigError
from agent.location import Location


@dataclass(frozen=True, slots=True)
class Revision:
    label: str  # what the admin asked for ("HEAD", "working tree")
    root: Path  # the tree to compile
    digest: str | None  # names the content (a tree id, or a hash of the working tree's files); None: unknown


def git_dir_of(repo: Path) -> Path:
    """The repository's git directory (a checkout's .git, a worktree's, a bare repository itself)."""
    done = git(["-C", str(repo), "rev-parse", "--absolute-git-dir"], check=False)
    if not done.ok:
        raise ConfigError("not a git checkout", location=Location(str(repo)))
    return Path(done.stdout.decode().strip())


@contextmanager
def revision_tree(repo: Path, revision: str | None) -> Iterator[Revision]:
    """`revision` checked out into a temporary directory (removed after), or None: the working tree as is.

    The checkout goes through a temporary index (read-tree, checkout-index), so the repository's own
    index, worktrees and refs are left as they were.
    """
    if revision is None:
        yield Revision("working tree", repo, _working_digest(repo))
        return
    git_dir = git_dir_of(repo)
    done = git(["rev-parse", "--verify", "--quiet", f"{revision}^{{tree}}"], git_dir=git_dir, check=False)
    if not done.ok:
        raise ConfigError(f"{revision!r} is not a revision of this repository", location=Location(str(repo)))
    tree_id = done.stdout.decode().strip()
    scratch = Path(tempfile.mkdtemp(prefix="tend-rev-"))
    try:
        (scratch / "tree").mkdir()
        env = {"GIT_INDEX_FILE": str(scratch / "index"), "GIT_WORK_TREE": str(scratch / "tree")}
        git(["read-tree", tree_id], git_dir=git_dir, env=env)
        git(["checkout-index", "--all", "--quiet"], git_dir=git_dir, env=env)
        yield Revision(revision, scratch / "tree", f"tree:{tree_id}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _working_digest(repo: Path) -> str | None:
    """The working tree's digest as the compile cache takes it (agent/catalog/cache.py): every file a compile
    can read, ignored ones included; None while a file is still being written."""
    from agent.catalog.cache import tree_digest

    return tree_digest(repo)
