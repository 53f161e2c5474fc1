"""The Debian package: built by packaging/build-deb, it runs on Debian 12's own Python and libraries."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT

DEBIAN_PYTHON = Path("/usr/bin/python3")


def _debian_libraries_missing() -> str | None:
    if not DEBIAN_PYTHON.exists() or shutil.which("dpkg-deb") is None:
        return "needs Debian's /usr/bin/python3 and dpkg-deb"
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import yaml, jinja2, psutil, gnupg"], capture_output=True)
    return (
        None
        if probe.returncode == 0
        else "needs python3-yaml, python3-jinja2, python3-psutil, python3-gnupg (make deps)"
    )


pytestmark = pytest.mark.skipif(_debian_libraries_missing() is not None, reason=str(_debian_libraries_missing()))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([PROJECT / "packaging/build-deb", out], capture_output=True, text=True, check=True)
    return Path(built.stdout.strip())


@pytest.fixture(scope="module")
def unpacked(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unpacked")
    subprocess.run(["dpkg-deb", "-x", package, root], check=True)
    return root


def field(package: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", package, name], capture_output=True, text=True, check=True).stdout.strip()


def test_control_fields(package: Path) -> None:
    assert field(package, "Package") == "tend" and field(package, "Architecture") == "all"
    depends = field(package, "Depends")
    for dependency in ("python3-yaml", "python3-jinja2", "python3-psutil", "python3-gnupg", "gnupg", "git"):
        assert dependency in depends


def test_contents(package: Path, unpacked: Path) -> None:
    for path in ("usr/bin/tend", "lib/systemd/system/tend.service", "lib/systemd/system/tend.timer",
                 "etc/tend/agent.yaml", "usr/lib/python3/dist-packages/agent/cli/main.py"):  # fmt: skip
        assert (unpacked / path).exists(), path
    assert not list(unpacked.rglob("__pycache__"))
    conffiles = subprocess.run(["dpkg-deb", "--ctrl-tarfile", package], capture_output=True, check=True).stdout
    assert b"conffiles" in conffiles
    timer = (unpacked / "lib/systemd/system/tend.timer").read_text()
    assert "RandomizedDelaySec=" in timer and "OnUnitActiveSec=" in timer


def test_runs_on_debian_12_libraries(unpacked: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(unpacked / "usr/lib/python3/dist-packages"),
           "TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent", "TEND_FACTS_DIR": "/nonexistent"}  # fmt: skip
    tend = [str(DEBIAN_PYTHON), str(unpacked / "usr/bin/tend")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*tend, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)

    assert run("--version").stdout.startswith("tend ")
    assert run("check").returncode == 0
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    args = (
        "apply",
        "--host",
        "web1",
        "--root",
        str(root),
        "--state-dir",
        str(tmp_path / "state"),
        "--detailed-exitcodes",
    )
    first = run(*args)
    assert first.returncode == 2, first.stderr
    assert (root / "etc/nginx/nginx.conf").read_text().startswith("# Managed by tend")
    assert run(*args).returncode == 0
