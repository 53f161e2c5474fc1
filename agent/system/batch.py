"""A durability batch (DESIGN §7.5, §8.16): temp files written without an fsync each, then one syncfs per
filesystem for all of them, then the renames, then one fsync per directory.

Until it is flushed nothing is renamed, so a kill at any moment leaves each target old (its temp file is
cleaned up by the next run) or new; the runner records the state only after a flush. A batch holds at most
`MAX_FILES` temp files and `MAX_DIRECTORIES` open directory descriptors, and flushes itself first when one
more would exceed either.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from agent.errors import HostError
from agent.system import files
from agent.system._oserror import host_error
from agent.system.paths import Walker

MAX_FILES = 512
MAX_DIRECTORIES = 32
_READ_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class _Pending:
    temp: str
    owner: str | None  # whose write it is (a resource id), so that a failed rename is blamed on it


class Batch:
    """Writes waiting for one flush; `failures` collects what could not be renamed, by owner."""

    __slots__ = ("_covered", "_directories", "_pending", "failures", "owner")

    def __init__(self) -> None:
        self._pending: dict[Path, _Pending] = {}
        self._directories: dict[Path, int] = {}  # the parent of each target: an O_PATH descriptor
        self._covered: set[Path] = set()  # the directories holding a target, and their ancestors
        self.failures: dict[str | None, HostError] = {}
        self.owner: str | None = None

    def __bool__(self) -> bool:
        return bool(self._pending)

    def waits_for(self, path: Path) -> bool:
        """Whether `path` is a waiting target: reading or changing it must flush first."""
        return path in self._pending

    def touches(self, path: Path) -> bool:
        """Whether `path` is a waiting target or a directory that holds one (listing or removing it must
        flush first)."""
        return path in self._pending or path in self._covered

    def write(self, path: Path, data: bytes, *, mode: int, uid: int | None, gid: int | None, walker: Walker) -> None:
        """Write `data` to a temp next to `path`, to be renamed over it at the next flush."""
        if path in self._pending or len(self._pending) >= MAX_FILES:
            self.flush()
        directory = self._directory(path, walker)
        temp = files.write_temp(directory, path, data, mode=mode, uid=uid, gid=gid, sync=False)
        self._pending[path] = _Pending(temp, self.owner)

    def _directory(self, path: Path, walker: Walker) -> int:
        """The directory of `path`, walked afresh (a directory swapped for a link since is refused); the
        batch keeps one descriptor per directory, and flushes first when the one it kept is no longer there."""
        parent = path.parent
        try:
            fresh = walker.open_directory(parent)
        except OSError as exc:
            raise host_error("write", path, exc) from exc
        kept = self._directories.get(parent)
        if kept is not None:
            if os.path.samestat(os.fstat(kept), os.fstat(fresh)):
                os.close(fresh)
                return kept
            self.flush()
        elif len(self._directories) >= MAX_DIRECTORIES:
            self.flush()
        self._directories[parent] = fresh
        self._covered.update((parent, *parent.parents))
        return fresh

    def flush(self) -> None:
        """Make every waiting temp durable, rename each over its target, then fsync each directory once."""
        pending, directories = self._pending, self._directories
        self._pending, self._directories, self._covered = {}, {}, set()
        try:
            broken = _make_durable(pending, directories)
            renamed: set[Path] = set()
            for path, wait in pending.items():
                directory = directories[path.parent]
                error = broken.get(path)
                if error is None:
                    try:
                        os.replace(wait.temp, path.name, src_dir_fd=directory, dst_dir_fd=directory)
                        renamed.add(path.parent)
                        continue
                    except OSError as exc:
                        error = host_error("write", path, exc)
                files.discard(directory, wait.temp)
                self.failures.setdefault(wait.owner, error)
            for parent in sorted(renamed):
                files.fsync_at(directories[parent], parent)
        finally:
            for directory in directories.values():
                os.close(directory)

    def take_failures(self) -> dict[str | None, HostError]:
        """The writes that failed at a flush since the last call, by owner."""
        failures, self.failures = self.failures, {}
        return failures


def _make_durable(pending: dict[Path, _Pending], directories: dict[Path, int]) -> dict[Path, HostError]:
    """One syncfs per filesystem; where it is missing or fails, an fsync of each of its temps. Returns the
    targets whose temp could not be made durable (they are not renamed)."""
    devices: dict[int, list[Path]] = {}
    for parent, directory in directories.items():
        devices.setdefault(os.fstat(directory).st_dev, []).append(parent)
    broken: dict[Path, HostError] = {}
    for parents in devices.values():
        if _syncfs(directories[parents[0]]):
            continue
        for path, wait in pending.items():
            if path.parent not in parents:
                continue
            try:
                fd = os.open(wait.temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directories[path.parent])
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                broken[path] = host_error("write", path, exc)
    return broken


def _syncfs(directory: int) -> bool:
    """syncfs(2) on the filesystem of `directory` (an O_PATH descriptor, which syncfs does not take); False
    when the C library has none or it reports an error (the caller then fsyncs file by file)."""
    call = _libc_syncfs()
    if call is None:
        return False
    try:
        fd = os.open(".", _READ_DIRECTORY, dir_fd=directory)
    except OSError:
        return False
    try:
        return call(fd) == 0
    finally:
        os.close(fd)


@functools.cache
def _libc_syncfs() -> Callable[[int], int] | None:
    """The C library's syncfs; ctypes is imported only by runs that write files."""
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return cast(Callable[[int], int], function)
