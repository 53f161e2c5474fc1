"""Disk full and read-only file systems, on a tmpfs in a private mount namespace (needs root)."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from agent.system.commands import run

from .conftest import child_env

CHILD = r"""
import json, os, sys
from pathlib import Path
from agent.errors import HostError
from agent.system.files import write_atomic
directory, size = Path(sys.argv[1]), int(sys.argv[2])
try:
    write_atomic(directory / "motd", b"x" * size, mode=0o644)
    error = None
except HostError as e:
    error = str(e)
content = (directory / "motd").read_text()
print(json.dumps({"error": error, "content": content, "listing": sorted(os.listdir(directory))}))
"""

# $1 the directory to mount over, $2 mount options, $3 remount options or "", $4 python, $5 code, $6 size
SCRIPT = """
mount -t tmpfs -o "$2" tmpfs "$1" || exit 90
printf old > "$1/motd"
if [ -n "$3" ]; then mount -o "$3" "$1" || exit 91; fi
exec "$4" -c "$5" "$1" "$6"
"""


def _can_unshare() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    if shutil.which("unshare") is None:
        return "unshare is not available"
    probe = run(["unshare", "-m", "true"], env=child_env(), timeout=10)
    return None if probe.ok else f"unshare -m fails here: {probe.stderr.decode().strip()}"


_SKIP = _can_unshare()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")


def write_in_namespace(directory: Path, mount: str, remount: str, size: int) -> dict:
    directory.mkdir()
    argv = ["unshare", "-m", "sh", "-c", SCRIPT, "sh", str(directory), mount, remount]
    result = run([*argv, sys.executable, CHILD, str(size)], env=child_env(), timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_disk_full_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    out = write_in_namespace(tmp_path / "m", "size=64k", "", 1 << 20)
    assert out["error"] == f"{tmp_path / 'm' / 'motd'}: cannot write: no space left on device"
    assert out["content"] == "old"
    assert out["listing"] == ["motd"]
    assert not (tmp_path / "m" / "motd").exists()


def test_no_inodes_left(tmp_path):
    out = write_in_namespace(tmp_path / "m", "size=1m,nr_inodes=2", "", 10)
    assert out["error"].endswith("cannot write: no space left on device")
    assert (out["content"], out["listing"]) == ("old", ["motd"])


def test_read_only_file_system(tmp_path):
    out = write_in_namespace(tmp_path / "m", "size=64k", "remount,ro", 10)
    assert out["error"] == f"{tmp_path / 'm' / 'motd'}: cannot write: read-only file system"
    assert (out["content"], out["listing"]) == ("old", ["motd"])
