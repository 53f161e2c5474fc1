"""The nspawn layer's shared parts: a cached Debian 12 root (debootstrap), booted with systemd-nspawn.

The plain root (/var/cache/tend-tests/bookworm-rootfs) is made once by debootstrap. A root with more packages (the
.deb's dependencies, say) is derived from it once: a copy, then apt-get inside a non-booted nspawn, cached beside it
under its own name. Containers boot with --volatile=overlay, so no test changes a cached root. Everything here
skips with the reason where debootstrap, apt or nspawn cannot run. `TEND_TESTS_CACHE` moves the cache elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import one_at_a_time

CACHE = Path(os.environ.get("TEND_TESTS_CACHE", "/var/cache/tend-tests"))
ROOTFS = CACHE / "bookworm-rootfs"
INCLUDE = "systemd-sysv,python3,python3-yaml,python3-jinja2,python3-psutil,gnupg"
MARKER = ".tend-rootfs"  # holds what the root was made with: a root made with other packages is made again
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sh(argv: Sequence[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def ensure_tools() -> None:
    """debootstrap and systemd-container (pinned to the host's systemd, so nothing else upgrades)."""
    if shutil.which("debootstrap") and shutil.which("systemd-nspawn") and shutil.which("nsenter"):
        return
    version = sh(["dpkg-query", "-W", "-f=${Version}", "systemd"]).stdout.strip()
    if not version:
        pytest.skip("systemd is not installed on this host, so systemd-container cannot be pinned to it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "debootstrap", f"systemd-container={version}"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600, check=False)
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot install debootstrap and systemd-container: {done.stderr.strip()[-300:]}")


def mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        found = re.search(r"^URIs:\s*(\S+)", sources.read_text(), re.M)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    """One maker at a time (both test workers may ask at once). flock is per open file: take it once per call."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _made_with(root: Path, recipe: str) -> bool:
    marker = root / MARKER
    return marker.exists() and marker.read_text() == recipe


def _base_rootfs() -> Path:
    """The plain root (the cache lock held)."""
    if _made_with(ROOTFS, INCLUDE):
        return ROOTFS
    ensure_tools()
    building = CACHE / "bookworm-rootfs.tmp"
    shutil.rmtree(building, ignore_errors=True)
    argv = ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", "bookworm", str(building), mirror()]
    done = sh(argv, timeout=900)
    if done.returncode != 0:
        pytest.skip(f"debootstrap failed: {done.stdout.strip()[-300:]} {done.stderr.strip()[-300:]}")
    (building / MARKER).write_text(INCLUDE)
    shutil.rmtree(ROOTFS, ignore_errors=True)
    building.rename(ROOTFS)
    return ROOTFS


def make_rootfs() -> Path:
    """The cached Debian root (systemd, python3 and tend's libraries), made once."""
    with _cache_lock():
        return _base_rootfs()


def make_derived_rootfs(name: str, packages: Sequence[str]) -> Path:
    """The cached root plus `packages` (installed with apt-get from Debian's mirror), cached as bookworm-NAME-rootfs.

    Made again when the plain root's recipe or the package list changes. The apt lists and archives are removed
    afterwards, so installing anything else inside needs a network and an `apt-get update`.
    """
    root = CACHE / f"bookworm-{name}-rootfs"
    recipe = f"{INCLUDE}\n+{','.join(sorted(set(packages)))}"
    with _cache_lock():
        if _made_with(root, recipe):
            return root
        base = _base_rootfs()
        building = CACHE / f"bookworm-{name}-rootfs.tmp"
        shutil.rmtree(building, ignore_errors=True)
        copied = sh(["cp", "-a", "--reflink=auto", str(base), str(building)], timeout=600)
        if copied.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            pytest.fail(f"cannot copy {base}: {copied.stderr.strip()[-300:]}")
        script = (
            "apt-get update -q && apt-get install -y -q --no-install-recommends "
            + " ".join(sorted(set(packages)))
            + " && apt-get clean && rm -rf /var/lib/apt/lists/*"
        )
        machine = f"tend-build-{secrets.token_hex(3)}"
        try:
            done = sh(
                ["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-D", str(building), f"--machine={machine}",
                 "--setenv=DEBIAN_FRONTEND=noninteractive", "sh", "-c", script],
                timeout=900,
            )  # fmt: skip
        finally:
            clean_nspawn_leftovers(machine)
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            pytest.skip(f"cannot install {' '.join(packages)} into the root: {(done.stdout + done.stderr)[-400:]}")
        (building / MARKER).write_text(recipe)
        shutil.rmtree(root, ignore_errors=True)
        building.rename(root)
        return root


@dataclass
class Machine:
    """A booted container: commands run in it through nsenter, with an empty environment but PATH."""

    pid: int
    machine: str

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return sh(["nsenter", "-t", str(self.pid), "-a", "env", "-i", f"PATH={PATH}", *argv], timeout)


@contextlib.contextmanager
def boot(rootfs: Path, log: Path, *options: str, prefix: str = "tend-e2e") -> Iterator[Machine]:
    """Boot `rootfs` (--volatile=overlay: the root itself is not changed) with extra nspawn `options` (binds…);
    the container's output goes to `log`. Powered off, and nspawn's leftovers removed, afterwards."""
    machine = f"{prefix}-{secrets.token_hex(3)}"
    # One container at a time across test workers: two machines booted together have failed a unit with
    # status 219/CGROUP (systemd in them cannot kill a cgroup in this nested setup).
    with one_at_a_time("containers"), open(log, "w") as out:
        nspawn = subprocess.Popen(
            ["systemd-nspawn", "--register=no", "--keep-unit", "--console=passive", "-q", "-b", "--volatile=overlay",
             "-D", str(rootfs), f"--machine={machine}", *options],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            made = Machine(wait_boot(nspawn, log), machine)
            yield made
            made.run("systemctl", "poweroff")
            nspawn.wait(timeout=30)
        finally:
            if nspawn.poll() is None:
                nspawn.kill()
                nspawn.wait()
            clean_nspawn_leftovers(machine)


def wait_boot(nspawn: subprocess.Popen[bytes], log: Path) -> int:
    """The container's PID 1 (as the host sees it) once systemd says it is up; skip if it never boots."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if nspawn.poll() is not None:
            pytest.skip(f"systemd-nspawn cannot start here: {log.read_text().strip()[-400:]}")
        child = sh(["pgrep", "-P", str(nspawn.pid), "-x", "systemd"]).stdout.split()
        if child:
            state = sh(["nsenter", "-t", child[0], "-a", "systemctl", "is-system-running"]).stdout.strip()
            if state in ("running", "degraded"):
                return int(child[0])
        time.sleep(0.2)
    pytest.skip(f"the container did not finish booting in 60 s: {log.read_text().strip()[-400:]}")


def clean_nspawn_leftovers(machine: str) -> None:
    """nspawn leaves /run/systemd/nspawn behind: remove this machine's part, and the folders once empty."""
    base = Path("/run/systemd/nspawn")
    shutil.rmtree(base / "propagate" / machine, ignore_errors=True)
    for folder in (base / "propagate", base / "locks", base):
        with contextlib.suppress(OSError):
            folder.rmdir()
