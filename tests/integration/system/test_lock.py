import os
import re
import signal
import stat
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.errors import HostError, LockError
from agent.system.lock import RunLock

from .conftest import python_child

HOLDER = """
import sys
from pathlib import Path
from agent.system.lock import RunLock
with RunLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""

FIXED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def hold(path: Path) -> subprocess.Popen[str]:
    """A child process holding the lock until its stdin is closed."""
    child = python_child(HOLDER, str(path), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout.readline() == "locked\n"
    return child


def test_holder_is_written_and_cleared(tmp_path):
    path = tmp_path / "tend.lock"
    with RunLock(path, now=lambda: FIXED) as lock:
        assert lock.held
        assert path.read_text() == f"{os.getpid()} 2024-05-01T12:00:00Z\n"
        assert lock.holder() == (str(os.getpid()), "2024-05-01T12:00:00Z")
    assert not lock.held
    assert path.read_text() == ""
    with RunLock(path):
        pass


def test_another_process_holding_the_lock(tmp_path):
    path = tmp_path / "tend.lock"
    child = hold(path)
    try:
        with pytest.raises(LockError) as err:
            RunLock(path).acquire()
        message = str(err.value)
        assert message.startswith(f"{path}: another tend run holds the lock (pid {child.pid}, since 20")
        assert message.endswith("Z); use --wait to wait for it")
        with pytest.raises(LockError, match=re.escape("still after waiting 0.2 s")):
            RunLock(path).acquire(wait=True, timeout=0.2)
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    with RunLock(path).acquire(wait=True, timeout=5) as lock:
        assert lock.holder()[0] == str(os.getpid())


def test_waiting_without_timeout_gets_the_lock_when_released(tmp_path):
    path = tmp_path / "tend.lock"
    child = hold(path)
    timer = threading.Timer(0.3, child.stdin.close)
    timer.start()
    try:
        with RunLock(path).acquire(wait=True) as lock:
            assert lock.holder()[0] == str(os.getpid())
    finally:
        timer.join()
        child.wait(timeout=10)


def test_lock_of_a_killed_run_is_free(tmp_path):
    path = tmp_path / "tend.lock"
    child = hold(path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    child.stdin.close()
    assert path.read_text().startswith(f"{child.pid} ")
    with RunLock(path) as lock:
        assert lock.holder()[0] == str(os.getpid())


def test_a_missing_lock_directory_is_made_0700_and_the_lock_0600(tmp_path):
    with RunLock(tmp_path / "run" / "lock"):
        assert mode(tmp_path / "run") == 0o700
        assert mode(tmp_path / "run" / "lock") == 0o600
    with pytest.raises(HostError, match="cannot open the lock: no such file or directory"):
        RunLock(tmp_path / "missing" / "run" / "lock").acquire()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_an_existing_loose_lock_file_is_tightened(tmp_path):
    (tmp_path / "lock").write_text("")
    os.chmod(tmp_path / "lock", 0o644)
    with RunLock(tmp_path / "lock"):
        assert mode(tmp_path / "lock") == 0o600


def test_a_lock_directory_that_is_a_symlink_is_refused(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    os.symlink("real", tmp_path / "run")
    with pytest.raises(HostError) as err:
        RunLock(tmp_path / "run" / "lock").acquire()
    assert str(err.value) == f"{tmp_path / 'run'}: refusing a lock directory that is a symbolic link"
    assert os.listdir(tmp_path / "real") == []


def test_a_lock_that_is_a_symlink_is_refused(tmp_path):
    os.symlink("elsewhere", tmp_path / "lock")
    with pytest.raises(HostError, match="cannot open the lock: too many levels of symbolic links"):
        RunLock(tmp_path / "lock").acquire()
    assert not (tmp_path / "elsewhere").exists()


def test_a_lock_directory_others_can_write_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    os.chmod(tmp_path / "run", 0o777)
    with pytest.raises(HostError) as err:
        RunLock(tmp_path / "run" / "lock").acquire()
    assert str(err.value) == f"{tmp_path / 'run'}: refusing a lock directory that group or others can write"
    assert os.listdir(tmp_path / "run") == []


def test_a_lock_directory_owned_by_another_user_is_refused(tmp_path, other_user):
    (tmp_path / "run").mkdir(mode=0o700)
    os.chown(tmp_path / "run", other_user.uid, other_user.gid)
    with pytest.raises(HostError) as err:
        RunLock(tmp_path / "run" / "lock").acquire()
    assert str(err.value) == f"{tmp_path / 'run'}: refusing a lock directory owned by uid {other_user.uid} (not by us)"


def test_another_user_can_neither_take_nor_create_the_lock(open_dir, other_user):
    base = open_dir
    lock_path = base / "run" / "lock"
    with RunLock(lock_path):
        pass
    take = other_user.run(f"exec 9<'{lock_path}' && flock -n 9 && echo taken")
    assert take.returncode != 0 and "taken" not in take.stdout
    assert "Permission denied" in take.stderr
    create = other_user.run(f"touch '{base / 'run' / 'other'}' || exit 3")
    assert create.returncode == 3
    with RunLock(lock_path):
        pass
