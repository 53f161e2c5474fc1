"""The dpkg lock held by another process: the package resource waits, then fails clearly; the rest converges.

Under --root the apt provider runs apt-get with `-o Dir=ROOT` and dpkg with `--root=ROOT`, so the lock is
ROOT/var/lib/dpkg/lock-frontend, which the test holds with fcntl as apt and dpkg do. Nothing touches the host's
dpkg database; the package is built by the test from a local apt repository.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.conftest import Site, finish

pytestmark = [
    pytest.mark.skipif(
        not Path(__file__).parents[2].joinpath("agent/providers/apt.py").exists(),
        reason="no package provider (agent/providers/apt.py) yet",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (dpkg --root, maintainer scripts)"),
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in ("apt-get", "dpkg", "dpkg-deb", "dpkg-scanpackages")),
        reason="needs apt-get, dpkg, dpkg-deb and dpkg-scanpackages (make deps installs them)",
    ),
]

WAIT_S = 1


def build_repo(work: Path) -> tuple[str, list[str]]:
    """A flat apt repository with one package; its name and the apt options that use only that repository."""
    name = f"tendtest-{secrets.token_hex(3)}-faults"
    repo, build = work / "repo", work / "build" / name
    for folder in (repo, build / "DEBIAN", build / f"usr/share/{name}", work / "lists/partial",
                   work / "cache/archives/partial"):  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)
    control = f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: faults\n"
    (build / "DEBIAN/control").write_text(control)
    (build / f"usr/share/{name}/version").write_text("1.0\n")
    subprocess.run(["dpkg-deb", "--build", str(build), str(repo / f"{name}_1.0_all.deb")], check=True,
                   capture_output=True)  # fmt: skip
    packages = subprocess.run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo, check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
    (repo / "Packages").write_text(packages)
    if shutil.which("apt-ftparchive"):
        release = subprocess.run(["apt-ftparchive", "release", "."], cwd=repo, check=True, capture_output=True,
                                 text=True).stdout  # fmt: skip
        (repo / "Release").write_text(release)
    (work / "sources.list").write_text(f"deb [trusted=yes] file:{repo} ./\n")
    options = [
        "-o", f"Dir::Etc::sourcelist={work / 'sources.list'}", "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={work / 'lists'}", "-o", f"Dir::Cache={work / 'cache'}",
        "-o", "APT::Get::List-Cleanup=0", "-o", f"DPkg::Lock::Timeout={WAIT_S}",
        "-o", "DPkg::Options::=--force-script-chrootless",
    ]  # fmt: skip
    return name, options


@contextmanager
def dpkg_lock_held(root: Path) -> Iterator[None]:
    """Hold ROOT/var/lib/dpkg/lock-frontend the way apt does (an fcntl write lock) from this process."""
    path = root / "var/lib/dpkg/lock-frontend"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def installed(root: Path, name: str) -> bool:
    done = subprocess.run(["dpkg-query", f"--root={root}", "-W", "-f=${db:Status-Abbrev}", name],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.returncode == 0 and done.stdout.startswith("ii")


@pytest.fixture
def package_site(site: Site, tmp_path: Path) -> tuple[Site, str, dict[str, str]]:
    name, options = build_repo(tmp_path / "apt")
    site.manifest(
        f"""
        resources:
          - file: /etc/before
            content: "before\\n"
          - package: {name}
          - file: /etc/after
            content: "after\\n"
        """
    )
    return site, name, {"TEND_APT_OPTIONS": " ".join(options)}


def test_a_held_dpkg_lock_fails_the_package_after_waiting_and_the_rest_converges(package_site) -> None:
    site, name, env = package_site
    with dpkg_lock_held(site.root):
        run = site.apply(env=env)
    assert run.returncode == 6, run
    result = run.result(f"package:{name}")
    assert result["status"] == "failed"
    assert "the dpkg database is locked by another process" in result["error"]
    assert "the next run tries again" in result["error"]
    assert result["duration_ms"] >= WAIT_S * 1000 * 0.9, "it did not wait for the lock"
    assert run.result("file:/etc/before")["status"] == "changed"
    assert run.result("file:/etc/after")["status"] == "changed"  # independent of the package
    assert not installed(site.root, name)
    # The lock released, the next run installs it and the one after finds nothing to do.
    again = site.apply(env=env)
    assert again.returncode == 2, again
    assert installed(site.root, name)
    assert site.apply(env=env).returncode == 0


def test_the_lock_error_states_the_wait_configured(package_site) -> None:
    site, name, env = package_site
    with dpkg_lock_held(site.root):
        run = site.apply(env=env)
    assert run.returncode == 6, run
    result = run.result(f"package:{name}")
    assert result["status"] == "failed"
    # The configured DPkg::Lock::Timeout (TEND_APT_OPTIONS), not tend's default of 300 s.
    assert f"the dpkg database is locked by another process (waited {WAIT_S} s)" in result["error"], result


def hold_manifest(site: Site, name: str) -> None:
    site.manifest(f"resources:\n  - package: {name}\n    hold: true\n")


def test_a_hold_waits_for_the_lock_like_an_install(package_site) -> None:
    """apt-mark runs dpkg --set-selections, which ignores DPkg::Lock::Timeout: tend waits for it itself."""
    site, name, env = package_site
    assert site.apply(env=env).returncode == 2
    hold_manifest(site, name)
    with dpkg_lock_held(site.root):
        run = site.apply(env=env)
    assert run.returncode == 4, run
    result = run.result(f"package:{name}")
    assert (
        f"apt-mark hold failed: the dpkg database is locked by another process (waited {WAIT_S} s)" in result["error"]
    ), result
    assert result["duration_ms"] >= WAIT_S * 1000 * 0.9, "it did not wait for the lock"


def test_a_hold_goes_through_once_the_lock_is_released_within_the_wait(package_site) -> None:
    site, name, env = package_site
    assert site.apply(env=env).returncode == 2
    hold_manifest(site, name)
    with dpkg_lock_held(site.root):
        child = site.start(env={**env, "TEND_APT_OPTIONS": env["TEND_APT_OPTIONS"].replace(
            f"DPkg::Lock::Timeout={WAIT_S}", "DPkg::Lock::Timeout=30")})  # fmt: skip
        time.sleep(1.0)
    run = finish(child)
    assert run.returncode == 2, run
    assert run.result(f"package:{name}")["status"] == "changed"
    selections = subprocess.run(["dpkg", f"--root={site.root}", "--get-selections", name], capture_output=True,
                                text=True, check=True).stdout  # fmt: skip
    assert selections.split() == [name, "hold"]
