"""Fixtures for engine tests: control repos written from dicts, a temporary root and state dir, tend through the CLI."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_tend
from tests.helpers import HIERA, write_tree

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, and exec chroots under --root)")


# The temporary root's own accounts: ownership names are resolved from ROOT/etc/passwd under --root.
PASSWD = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
GROUP = "root:x:0:\ndaemon:x:1:\n"


def tree_digest(base: Path, *, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """Every entry under `base` with its kind, mode, owner and content hash (or link target)."""
    entries: dict[str, tuple] = {}
    for folder, dirs, names in os.walk(base):
        for name in sorted(dirs + names):
            path = Path(folder, name)
            relative = str(path.relative_to(base))
            if relative.split("/")[0] in skip:
                continue
            st = os.lstat(path)
            if path.is_symlink():
                what: Any = ("link", os.readlink(path))
            elif path.is_dir():
                what = ("dir",)
            else:
                what = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            entries[relative] = (*what, st.st_mode, st.st_uid, st.st_gid)
    return entries


@dataclass
class Run:
    """One tend invocation: its exit code, output, and the JSON report when --json was given."""

    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    def result(self, rid: str) -> dict[str, Any]:
        assert self.report is not None, self.stderr
        found = [r for r in self.report["resources"] if r["id"] == rid]
        assert found, f"{rid} not in {[r['id'] for r in self.report['resources']]}"
        return found[0]

    def status(self, rid: str) -> str:
        return self.result(rid)["status"]

    @property
    def statuses(self) -> dict[str, str]:
        assert self.report is not None, self.stderr
        return {r["id"]: r["status"] for r in self.report["resources"]}


@dataclass
class Site:
    """A control repository, a managed root (None: the real filesystem) and a state directory."""

    repo: Path
    root: Path | None
    state: Path

    def write(self, files: Mapping[str, str | bytes]) -> None:
        write_tree(self.repo, files)

    def path(self, managed: str) -> Path:
        """The host path of a managed path."""
        assert self.root is not None
        return self.root / managed.lstrip("/")

    def tend(self, command: str, *args: str, json_report: bool = True, detailed: bool = True) -> Run:
        argv = [command, "--repo", str(self.repo), "--state-dir", str(self.state)]
        if self.root is not None:
            argv += ["--root", str(self.root)]
        if json_report:
            argv.append("--json")
        if detailed:
            argv.append("--detailed-exitcodes")
        done = run_tend([*argv, *args])
        report = json.loads(done.stdout) if json_report and done.stdout.strip() else None
        return Run(done.returncode, done.stdout, done.stderr, report)

    def apply(self, *args: str, **options: Any) -> Run:
        return self.tend("apply", *args, **options)

    def plan(self, *args: str, **options: Any) -> Run:
        return self.tend("plan", *args, **options)

    def state_json(self) -> dict[str, Any]:
        return json.loads((self.state / "state.json").read_text())

    def last_report(self) -> dict[str, Any]:
        return json.loads((self.state / "reports" / "last_run.json").read_text())


def apply_twice(site: Site) -> Run:
    """Apply (changes), then apply again: nothing left to change; the first run."""
    first = site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    again = site.apply()
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(again.statuses.values()) == {"unchanged"}, again.statuses
    return first


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A repo with hiera.yaml and an inventory, a root with its own /etc/passwd and /etc/group."""
    repo, root = tmp_path / "repo", tmp_path / "root"
    write_tree(repo, {"hiera.yaml": HIERA, "keys/inventory.yaml": "hosts:\n  web1: {role: web}\nadmins: []\n"})
    write_tree(root, {"etc/passwd": PASSWD, "etc/group": GROUP})
    return Site(repo, root, tmp_path / "state")


@pytest.fixture
def host_site(tmp_path: Path) -> Site:
    """A site applied to the real filesystem (no --root): manifests must name paths under tmp_path only."""
    repo = tmp_path / "repo"
    write_tree(repo, {"hiera.yaml": HIERA})
    return Site(repo, None, tmp_path / "state")


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block (and the tend children it starts) under this umask."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)
