"""The run lock: one tend run at a time, by flock on a file that names its holder."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from agent.errors import HostError, LockError
from agent.system._oserror import host_error

_POLL_S = 0.1
_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600
_FILE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RunLock:
    """An exclusive flock on `path`, which holds "<pid> <ISO time>" of the holder while it is held.

    The kernel drops a flock when its holder dies, so a lock left by a killed run is simply free.
    The file is never removed (removing a flocked file lets two runs lock two different inodes).
    Anyone who can open the file can flock it, so it is 0600 in a directory of ours that others
    cannot write (created 0700 when missing; DESIGN §8.6): a symlink there, or a directory another
    user owns or others may write, is refused.
    `with RunLock(p):` takes it without waiting; `with RunLock(p).acquire(wait=True, timeout=60):`
    waits.
    """

    __slots__ = ("_fd", "_now", "path")

    def __init__(self, path: Path, *, now: Callable[[], datetime] = _utc_now):
        self.path = path
        self._now = now
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, wait: bool = False, timeout: float | None = None) -> RunLock:
        """Take the lock; LockError when another run holds it and `wait` is false or `timeout` passes.

        With `wait` and no `timeout` it waits as long as the other run takes.
        """
        if self._fd is not None:
            return self
        fd = self._open()
        try:
            self._lock(fd, wait, timeout)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {self._now().strftime('%Y-%m-%dT%H:%M:%SZ')}\n".encode(), 0)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError):
                raise host_error("take the lock", self.path, exc) from exc
            raise
        self._fd = fd
        return self

    def _open(self) -> int:
        """The lock file, opened through a checked directory and without following a link."""
        directory = self.path.parent
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory, _DIRECTORY_MODE)
            parent = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(directory):
                raise HostError("refusing a lock directory that is a symbolic link", subject=str(directory)) from exc
            raise host_error("open the lock", self.path, exc) from exc
        try:
            _check_owned(os.fstat(parent), "lock directory", directory)
            fd = os.open(self.path.name, _FILE_FLAGS, _FILE_MODE, dir_fd=parent)
        except OSError as exc:
            raise host_error("open the lock", self.path, exc) from exc
        finally:
            os.close(parent)
        try:
            _check_owned(os.fstat(fd), "lock", self.path)
            os.fchmod(fd, _FILE_MODE)  # a lock others can open, they can take
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _lock(self, fd: int, wait: bool, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            if not wait:
                raise LockError(f"{self._busy()}; use --wait to wait for it", subject=str(self.path))
            if deadline is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockError(f"{self._busy()}, still after waiting {timeout:g} s", subject=str(self.path))
            time.sleep(min(_POLL_S, remaining))

    def _busy(self) -> str:
        pid, since = self.holder() or ("unknown", "unknown")
        return f"another tend run holds the lock (pid {pid}, since {since})"

    def holder(self) -> tuple[str, str] | None:
        """The pid and start time the holder wrote, or None when the file names nobody."""
        try:
            fields = self.path.read_text(encoding="utf-8", errors="replace").split()
        except OSError:
            return None
        return (fields[0], fields[1]) if len(fields) == 2 else None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _check_owned(st: os.stat_result, what: str, path: Path) -> None:
    """Refuse `path` unless we own it and no one else may write it."""
    if st.st_uid != os.geteuid():
        raise HostError(f"refusing a {what} owned by uid {st.st_uid} (not by us)", subject=str(path))
    if stat.S_IMODE(st.st_mode) & (stat.S_IWGRP | stat.S_IWOTH):
        raise HostError(f"refusing a {what} that group or others can write", subject=str(path))
