"""Fixtures for provider tests on real tools: test-built .debs in a local apt repository, sites applied by the CLI."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT
from tests.helpers import one_at_a_time, write_tree

HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: Common
    path: common.yaml
"""


# The tests that install on the host share its one dpkg database: they run one at a time across the test
# workers. Two at once have failed an install while the other purged.
HOST_DPKG = pytest.mark.usefixtures("host_dpkg")


@pytest.fixture
def host_dpkg() -> Iterator[None]:
    with one_at_a_time("host-dpkg"):
        yield


def needs(*tools: str, root: bool = True) -> pytest.MarkDecorator:
    """Skip unless we are root (when `root`) and every tool is installed; the reason names what is missing."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if root and os.geteuid() != 0:
        return pytest.mark.skipif(True, reason="needs root")
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (make deps installs them)")


@dataclass
class Run:
    """One tend invocation: exit code, output, and the JSON report."""

    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    def result(self, rid: str) -> dict[str, Any]:
        assert self.report is not None, self.stdout + self.stderr
        found = [r for r in self.report["resources"] if r["id"] == rid]
        assert found, f"{rid} not in {[r['id'] for r in self.report['resources']]}"
        return found[0]

    @property
    def statuses(self) -> dict[str, str]:
        assert self.report is not None, self.stdout + self.stderr
        return {r["id"]: r["status"] for r in self.report["resources"]}

    def __str__(self) -> str:
        errors = [f"{r['id']}: {r['error']}" for r in (self.report or {}).get("resources", []) if r.get("error")]
        return "\n".join([f"exit {self.returncode}", *errors, self.stderr, self.stdout])


@dataclass
class Site:
    """A control repository with one class, a state directory, and optionally a managed root."""

    repo: Path
    state: Path
    root: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def manifest(self, text: str) -> None:
        write_tree(self.repo, {"data/common.yaml": "classes: [site]\n", "manifests/site.yaml": text})

    def apply(self, *args: str, prefix: Sequence[str] = (), noop: bool = False) -> Run:
        argv = ["apply", "--repo", str(self.repo), "--state-dir", str(self.state), "--json", "--detailed-exitcodes"]
        if self.root is not None:
            argv += ["--root", str(self.root)]
        if noop:
            argv.append("--noop")
        done = tend([*argv, *args], env=self.env, prefix=prefix)
        report = json.loads(done.stdout) if done.stdout.strip() else None
        return Run(done.returncode, done.stdout, done.stderr, report)


def tend(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, prefix: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """`python -m agent ARGS` (after `prefix`, e.g. strace), with no TEND_* variables but `env`'s."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    base |= {"TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent", "TEND_FACTS_DIR": "/nonexistent"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "agent", *args],
        cwd=PROJECT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def site(tmp_path: Path) -> Site:
    repo = tmp_path / "repo"
    write_tree(repo, {"hiera.yaml": HIERA})
    return Site(repo, tmp_path / "state")


# --- Debian packages -------------------------------------------------------------------------------------------


CONFMODULE = ". /usr/share/debconf/confmodule"


@dataclass
class AptRepo:
    """A flat local apt repository of test-built packages, with its own lists and cache (nothing of /etc/apt)."""

    path: Path
    work: Path
    token: str  # makes this test's package names unique on the host
    built: list[str] = field(default_factory=list)

    def name(self, short: str) -> str:
        return f"tendtest-{self.token}-{short}"

    def add(
        self,
        short: str,
        version: str,
        *,
        depends: str | None = None,
        recommends: str | None = None,
        conffile: bool = False,
        postinst: str = "",
        debconf: str | None = None,
    ) -> str:
        """Build package `short` at `version` into the repository; its full name. `debconf` names a string
        question the package asks (`<name>/<debconf>`, its config script and templates); `{name}` in
        `postinst` is the package's name."""
        name = self.name(short)
        folder = self.work / "build" / f"{name}_{version}"
        control = [f"Package: {name}", f"Version: {version}", "Architecture: all", "Maintainer: tend tests <t@t>"]
        control += [f"Depends: {self.name(depends)}"] if depends else []
        control += [f"Recommends: {self.name(recommends)}"] if recommends else []
        control += [f"Description: tend test package {short}"]
        files = {"DEBIAN/control": "\n".join(control) + "\n", f"usr/share/{name}/version": version + "\n"}
        if conffile:
            files |= {"DEBIAN/conffiles": f"/etc/{name}.conf\n", f"etc/{name}.conf": f"# {name} {version}\n"}
        scripts = ["postinst"] if postinst else []
        if debconf:
            question = f"{name}/{debconf}"
            files |= {
                "DEBIAN/templates": f"Template: {question}\nType: string\nDescription: {debconf}?\n",
                "DEBIAN/config": f"#!/bin/sh\nset -e\n{CONFMODULE}\ndb_input high {question} || true\ndb_go || true\n",
                "DEBIAN/postrm": f'#!/bin/sh\nset -e\nif [ "$1" = purge ]; then\n  {CONFMODULE}\n  db_purge\nfi\n',
            }
            scripts += ["config", "postrm"]
            postinst = f"{CONFMODULE}\n{postinst}"
        if postinst:
            files |= {"DEBIAN/postinst": "#!/bin/sh\nset -e\n" + postinst.replace("{name}", name) + "\n"}
        for relative, content in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        for script in scripts:
            (folder / "DEBIAN" / script).chmod(0o755)
        subprocess.run(["dpkg-deb", "--build", str(folder), str(self.path / f"{name}_{version}_all.deb")],
                       check=True, capture_output=True)  # fmt: skip
        self.built.append(name)
        self.index()
        return name

    def index(self) -> None:
        packages = subprocess.run(["dpkg-scanpackages", "--multiversion", "."], cwd=self.path, check=True,
                                  capture_output=True, text=True).stdout  # fmt: skip
        (self.path / "Packages").write_text(packages)
        if shutil.which("apt-ftparchive"):  # a Release file keeps apt-get update from complaining
            release = subprocess.run(["apt-ftparchive", "release", "."], cwd=self.path, check=True,
                                     capture_output=True, text=True).stdout  # fmt: skip
            (self.path / "Release").write_text(release)

    def options(self, *extra: str) -> list[str]:
        """apt options that use only this repository, with lists and cache of its own."""
        return [
            "-o", f"Dir::Etc::sourcelist={self.work / 'sources.list'}", "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={self.work / 'lists'}", "-o", f"Dir::Cache={self.work / 'cache'}",
            "-o", "APT::Get::List-Cleanup=0", "-o", "DPkg::Lock::Timeout=300", *extra,
        ]  # fmt: skip

    def env(self, *extra: str) -> dict[str, str]:
        return {"TEND_APT_OPTIONS": " ".join(self.options(*extra))}

    def update(self) -> None:
        subprocess.run(["apt-get", "-q", *self.options(), "update"], check=True, capture_output=True)

    def purge_from_host(self) -> None:
        """Remove from the host every package this test built (they are ours: tendtest-<token>-*)."""
        status = Path("/var/lib/dpkg/status").read_text()
        ours = sorted({n for n in self.built if f"Package: {n}\n" in status})
        if ours:
            # apt-get waits for the dpkg lock (another test may hold it); dpkg alone would give up at once.
            subprocess.run(["apt-get", "-q", "-y", "--allow-change-held-packages", *self.options(), "purge", *ours],
                           capture_output=True, check=True)  # fmt: skip


@pytest.fixture
def apt_repo(tmp_path: Path) -> Iterator[AptRepo]:
    repo = AptRepo(tmp_path / "apt-repo", tmp_path / "apt", secrets.token_hex(3))
    repo.path.mkdir()
    for folder in ("lists/partial", "cache/archives/partial"):
        (repo.work / folder).mkdir(parents=True)
    (repo.work / "sources.list").write_text(f"deb [trusted=yes] file:{repo.path} ./\n")
    yield repo
    repo.purge_from_host()


def dpkg_version(name: str, root: Path | None = None) -> str | None:
    """The installed version of `name` (on the host or in `root`), None when not installed."""
    argv = ["dpkg-query", *([f"--root={root}"] if root else []), "-W", "-f=${db:Status-Abbrev}|${Version}", name]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    status, version = done.stdout.split("|")
    return version if status[1:2] == "i" else None  # "ii", or "hi" when held


def dpkg_status(name: str, root: Path | None = None) -> str:
    """dpkg's status abbreviation of `name` ("ii ", "rc "), or "" when dpkg has no record of it."""
    argv = ["dpkg-query", *([f"--root={root}"] if root else []), "-W", "-f=${db:Status-Abbrev}", name]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else ""


def hold(name: str) -> None:
    """`apt-mark hold NAME`, again while another test's apt holds the dpkg lock (apt-mark does not wait)."""
    deadline = time.monotonic() + 300
    while True:
        done = subprocess.run(["apt-mark", "hold", name], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        if "lock" not in done.stderr or time.monotonic() > deadline:
            raise AssertionError(f"apt-mark hold {name}: {done.stderr}")
        time.sleep(0.2)
