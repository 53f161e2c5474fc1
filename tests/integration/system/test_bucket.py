import hashlib
import os
import stat

import pytest

from agent.errors import HostError
from agent.system.bucket import Bucket


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_put_get_and_layout(tmp_path):
    bucket = Bucket(tmp_path / "var/bucket")
    assert not (tmp_path / "var").exists()
    digest = bucket.put(b"old motd\n")
    assert digest == hashlib.sha256(b"old motd\n").hexdigest()
    stored = tmp_path / "var/bucket" / digest[:2] / digest
    assert stored.read_bytes() == b"old motd\n"
    assert (mode(tmp_path / "var/bucket"), mode(stored.parent), mode(stored)) == (0o700, 0o700, 0o600)
    assert bucket.has(digest)
    assert bucket.get(digest) == b"old motd\n"


def test_put_is_idempotent(tmp_path):
    bucket = Bucket(tmp_path)
    digest = bucket.put(b"same")
    stored = tmp_path / digest[:2] / digest
    before = os.stat(stored)
    assert bucket.put(b"same") == digest
    after = os.stat(stored)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert os.listdir(stored.parent) == [digest]


def test_every_copy_is_0600_and_one_an_older_tend_left_0640_is_tightened(tmp_path):
    """A file that stopped holding a secret is replaced by plain content: its old copy must be private too."""
    bucket = Bucket(tmp_path / "b")
    plain = bucket.put(b"plain")
    path = tmp_path / "b" / plain[:2] / plain
    assert mode(path) == 0o600
    os.chmod(path, 0o640)
    bucket.put(b"plain")
    assert mode(path) == 0o600


def test_a_loose_bucket_directory_is_tightened(tmp_path):
    (tmp_path / "b").mkdir(mode=0o755)
    os.chmod(tmp_path / "b", 0o755)
    Bucket(tmp_path / "b").put(b"x")
    assert mode(tmp_path / "b") == 0o700


def test_unknown_and_malformed_digests(tmp_path):
    bucket = Bucket(tmp_path)
    missing = "0" * 64
    assert not bucket.has(missing)
    with pytest.raises(HostError, match=f"{missing}: no backup with this digest in {tmp_path}"):
        bucket.get(missing)
    with pytest.raises(HostError, match="not a sha256 hex digest"):
        bucket.get("../../etc/shadow")
