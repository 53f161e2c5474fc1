"""A real other local user for the tests that attack tend as one (root only): created, then deleted."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class OtherUser:
    name: str
    uid: int
    gid: int

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        """`sh -c script` as this user (setpriv: no root groups, no capabilities)."""
        argv = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "sh", "-c", script]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def other_user() -> Iterator[OtherUser]:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates a real local user (useradd) and acts as it (setpriv)")
    name = f"tendt{secrets.token_hex(4)}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        entry = pwd.getpwnam(name)
        yield OtherUser(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True, timeout=60)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A temporary directory others may traverse (0755; pytest's own are inside a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="tend-open-", dir="/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
