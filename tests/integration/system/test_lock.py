import os
import re
import signal
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


def test_lock_in_a_missing_directory_is_a_host_error(tmp_path):
    with pytest.raises(HostError, match="cannot open the lock: no such file or directory"):
        RunLock(tmp_path / "missing" / "tend.lock").acquire()
