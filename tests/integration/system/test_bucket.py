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
    digest = bucket.put(b"old motd\n", sensitive=False)
    assert digest == hashlib.sha256(b"old motd\n").hexdigest()
    stored = tmp_path / "var/bucket" / digest[:2] / digest
    assert stored.read_bytes() == b"old motd\n"
    assert (mode(tmp_path / "var/bucket"), mode(stored.parent), mode(stored)) == (0o700, 0o700, 0o640)
    assert bucket.has(digest)
    assert bucket.get(digest) == b"old motd\n"


def test_put_is_idempotent(tmp_path):
    bucket = Bucket(tmp_path)
    digest = bucket.put(b"same", sensitive=False)
    stored = tmp_path / digest[:2] / digest
    before = os.stat(stored)
    assert bucket.put(b"same", sensitive=False) == digest
    after = os.stat(stored)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert os.listdir(stored.parent) == [digest]


def test_sensitive_content_is_0600_and_stays_so(tmp_path):
    bucket = Bucket(tmp_path / "b")
    secret = bucket.put(b"password=x", sensitive=True)
    path = tmp_path / "b" / secret[:2] / secret
    assert mode(path) == 0o600
    bucket.put(b"password=x", sensitive=False)
    assert mode(path) == 0o600
    plain = bucket.put(b"plain", sensitive=False)
    bucket.put(b"plain", sensitive=True)
    assert mode(tmp_path / "b" / plain[:2] / plain) == 0o600


def test_a_loose_bucket_directory_is_tightened(tmp_path):
    (tmp_path / "b").mkdir(mode=0o755)
    os.chmod(tmp_path / "b", 0o755)
    Bucket(tmp_path / "b").put(b"x", sensitive=False)
    assert mode(tmp_path / "b") == 0o700


def test_unknown_and_malformed_digests(tmp_path):
    bucket = Bucket(tmp_path)
    missing = "0" * 64
    assert not bucket.has(missing)
    with pytest.raises(HostError, match=f"{missing}: no backup with this digest in {tmp_path}"):
        bucket.get(missing)
    with pytest.raises(HostError, match="not a sha256 hex digest"):
        bucket.get("../../etc/shadow")
