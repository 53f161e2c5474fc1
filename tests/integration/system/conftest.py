"""Fixtures for agent/system integration tests: privilege checks, a minimal chroot, Python children."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import agent
from tests.integration.system.otheruser import open_dir, other_user  # noqa: F401 - fixtures

REPO = Path(agent.__file__).resolve().parents[1]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def child_env() -> dict[str, str]:
    """The environment for a Python child that imports agent from this checkout."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}


def python_child(code: str, *args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=child_env(),
        text=True,
        **popen,  # type: ignore[call-overload]
    )


@pytest.fixture
def umask0():
    old = os.umask(0)
    yield
    os.umask(old)


def _copy_with_libraries(executable: str, root: Path) -> None:
    """Copy an executable to `root`/bin and the shared libraries ldd lists to their paths under `root`."""
    real = shutil.which(executable)
    assert real is not None
    ldd = subprocess.run(["ldd", real], capture_output=True, text=True, check=False).stdout
    copies = {f"/bin/{executable}": real} | {lib: lib for lib in re.findall(r"(/\S+) \(0x", ldd)}
    for inside, source in copies.items():
        target = root / inside.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(source), target)


@pytest.fixture
def mini_root(tmp_path: Path) -> Path:
    """A directory with /bin/cat and /bin/touch (and their libraries) that a command can chroot into."""
    if shutil.which("ldd") is None:
        pytest.skip("ldd is not available to build a chroot")
    root = tmp_path / "root"
    for tool in ("cat", "touch"):
        _copy_with_libraries(tool, root)
    return root
