"""Issue 20 item 5: what tend keeps for itself (state dir, audit head, bucket) is readable by nobody else."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.secrets.auditlog import AuditLog
from agent.system import Bucket
from tests.conftest import run_tend


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_audit_log_and_its_head_are_0600_in_a_0700_directory(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "state" / "audit.log")
    read = {"time": "t", "run_id": "r", "host": "web1", "key": "k", "file": "f", "ciphertext_sha256": "0"}
    log.append([read])
    log.append([read])
    assert (mode(tmp_path / "state"), mode(log.path), mode(log.head_path)) == (0o700, 0o600, 0o600)
    assert log.verify().ok


def test_bucket_copies_of_sensitive_files_are_0600_in_0700_directories(tmp_path: Path) -> None:
    bucket = Bucket(tmp_path / "state" / "bucket")
    digest = bucket.put(b"password=hunter2\n")
    stored = tmp_path / "state" / "bucket" / digest[:2] / digest
    assert (mode(tmp_path / "state"), mode(stored.parent.parent), mode(stored.parent)) == (0o700, 0o700, 0o700)
    assert mode(stored) == 0o600


@pytest.fixture
def short_home() -> Iterator[Path]:
    """A state dir with a short path (gpg-agent's socket path must stay under ~100 characters)."""
    base = Path(tempfile.mkdtemp(prefix="tk", dir="/tmp"))
    try:
        yield base / "state"
    finally:
        subprocess.run(["gpgconf", "--homedir", str(base / "state" / "gnupg"), "--kill", "all"], check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(shutil.which("gpg") is None, reason="needs gpg")
def test_keys_init_makes_a_new_state_dir_0700(short_home: Path) -> None:
    done = run_tend(["keys", "init", "--name", "web1", "--state-dir", str(short_home)])
    assert done.returncode == 0, done.stderr
    assert mode(short_home) == 0o700
    assert mode(short_home / "gnupg") == 0o700
