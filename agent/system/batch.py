"""A durability batch (DESIGN §7.5, §8.16): temp files written without an fsync each, then one syncfs per
filesystem for all of them, then the renames, then one fsync per directory.

Until it is flushed nothing is renamed, so a kill at any moment leaves each target old (its temp file is
cleaned up by the next run) or new; the runner records the state only after a flush. The bucket's copies of
what the writes replace wait in the batch too, and are renamed, durably, before any target: a target is never
new while its backup could still be lost. A batch holds at most `MAX_FILES` temp files and `MAX_DIRECTORIES`
open directory descriptors (a backup's directory is opened only while it is written or renamed), and flushes
itself first when one more would exceed either.
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


@dataclass(frozen=True, slots=True)
class _Backup:
    temp: str
    walker: Walker  # the bucket's, which opens the backup's directory afresh at the flush
    owners: list[str | None]  # whose writes replace this content: not renamed if the backup fails


class Batch:
    """Writes waiting for one flush; `failures` collects what could not be renamed, by owner."""

    __slots__ = ("_backups", "_covered", "_directories", "_pending", "_unbacked", "failures", "owner")

    def __init__(self) -> None:
        self._pending: dict[Path, _Pending] = {}
        self._backups: dict[Path, _Backup] = {}
        self._directories: dict[Path, int] = {}  # the parent of each target: an O_PATH descriptor
        self._covered: set[Path] = set()  # the directories holding a target, and their ancestors
        self._unbacked: dict[str | None, HostError] = {}  # owners whose backup failed: none of their writes go
        self.failures: dict[str | None, HostError] = {}
        self.owner: str | None = None

    def __bool__(self) -> bool:
        return bool(self._pending or self._backups)

    def holds_backups(self) -> bool:
        """Whether a backup waits: anything that removes or replaces a file outside the batch flushes first."""
        return bool(self._backups)

    def unbacked(self, owner: str | None) -> HostError | None:
        """Why `owner`'s backup failed at a flush (then nothing of its may be removed or replaced), or None."""
        return self._unbacked.get(owner)

    def waits_for(self, path: Path) -> bool:
        """Whether `path` is a waiting target: reading or changing it must flush first."""
        return path in self._pending

    def touches(self, path: Path) -> bool:
        """Whether `path` is a waiting target or a directory that holds one (listing or removing it must
        flush first)."""
        return path in self._pending or path in self._covered

    def write(self, path: Path, data: bytes, *, mode: int, uid: int | None, gid: int | None, walker: Walker) -> None:
        """Write `data` to a temp next to `path`, to be renamed over it at the next flush."""
        if path in self._pending or self._full():
            self.flush()
        directory = self._directory(path, walker)
        temp = files.write_temp(directory, path, data, mode=mode, uid=uid, gid=gid, sync=False)
        self._pending[path] = _Pending(temp, self.owner)

    def back_up(self, path: Path, data: bytes, *, mode: int, walker: Walker) -> None:
        """Write `data` to a temp next to `path` (a bucket copy), to be renamed at the next flush before any
        target; the same copy waiting already is shared."""
        waiting = self._backups.get(path)
        if waiting is not None:
            waiting.owners.append(self.owner)
            return
        if self._full():
            self.flush()
        try:
            directory = walker.open_directory(path.parent)
        except OSError as exc:
            raise host_error("back up", path, exc) from exc
        try:
            temp = files.write_temp(directory, path, data, mode=mode, uid=None, gid=None, sync=False)
        finally:
            os.close(directory)
        self._backups[path] = _Backup(temp, walker, [self.owner])

    def _full(self) -> bool:
        return len(self._pending) + len(self._backups) >= MAX_FILES

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
        """Make every waiting temp durable, store the backups durably, rename each temp over its target, then
        fsync each directory once."""
        pending, directories, backups = self._pending, self._directories, self._backups
        self._pending, self._directories, self._backups, self._covered = {}, {}, {}, set()
        try:
            broken, synced = _make_durable(pending, directories)
            for owner, why in _store(backups, synced).items():
                self._unbacked.setdefault(owner, why)
                self.failures.setdefault(owner, why)
            renamed: set[Path] = set()
            for path, wait in pending.items():
                directory = directories[path.parent]
                error = broken.get(path) or self._unbacked.get(wait.owner)
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
        failures, self.failures, self._unbacked = self.failures, {}, {}
        return failures


def _make_durable(
    pending: dict[Path, _Pending], directories: dict[Path, int]
) -> tuple[dict[Path, HostError], set[int]]:
    """One syncfs per filesystem; where it is missing or fails, an fsync of each of its temps. Returns the
    targets whose temp could not be made durable (they are not renamed), and the filesystems synced whole."""
    devices: dict[int, list[Path]] = {}
    for parent, directory in directories.items():
        devices.setdefault(os.fstat(directory).st_dev, []).append(parent)
    broken: dict[Path, HostError] = {}
    synced: set[int] = set()
    for device, parents in devices.items():
        if _syncfs(directories[parents[0]]):
            synced.add(device)
            continue
        for path, wait in pending.items():
            if path.parent not in parents:
                continue
            try:
                _fsync_temp(directories[path.parent], wait.temp)
            except OSError as exc:
                broken[path] = host_error("write", path, exc)
    return broken, synced


def _store(backups: dict[Path, _Backup], synced: set[int]) -> dict[str | None, HostError]:
    """Rename each backup's temp over its name: its data synced first (unless its filesystem was this flush),
    the renames then made durable by one syncfs (or an fsync of each directory). Returns, by owner, why a
    backup failed; its temp is gone."""
    failed: dict[str | None, HostError] = {}
    by_parent: dict[Path, list[Path]] = {}
    for path in backups:
        by_parent.setdefault(path.parent, []).append(path)
    stored: list[Path] = []
    anchor: int | None = None  # one directory of the bucket, kept open for the syncfs after the renames
    try:
        for parent, paths in by_parent.items():
            try:
                directory = backups[paths[0]].walker.open_directory(parent)
            except (OSError, HostError) as exc:
                _fail(failed, [(p, backups[p]) for p in paths], exc)
                continue
            if _rename_backups(directory, {p: backups[p] for p in paths}, synced, failed):
                stored.append(parent)
            if anchor is None:
                anchor = directory
            else:
                os.close(directory)
        if anchor is not None and stored and not _syncfs(anchor):
            for parent in stored:
                paths = by_parent[parent]
                try:
                    _fsync_directory(backups[paths[0]].walker, parent)
                except (OSError, HostError) as exc:
                    _fail(failed, [(p, backups[p]) for p in paths], exc)
    finally:
        if anchor is not None:
            os.close(anchor)
    return failed


def _rename_backups(
    directory: int, backups: dict[Path, _Backup], synced: set[int], failed: dict[str | None, HostError]
) -> bool:
    """Rename the backups of one directory, each temp's data synced first; whether any was renamed."""
    device = os.fstat(directory).st_dev
    if device not in synced and _syncfs(directory):
        synced.add(device)
    renamed = False
    for path, wait in backups.items():
        try:
            if device not in synced:
                _fsync_temp(directory, wait.temp)
            os.replace(wait.temp, path.name, src_dir_fd=directory, dst_dir_fd=directory)
            renamed = True
        except OSError as exc:
            files.discard(directory, wait.temp)
            _fail(failed, [(path, wait)], exc)
    return renamed


def _fail(failed: dict[str | None, HostError], backups: list[tuple[Path, _Backup]], exc: Exception) -> None:
    for path, wait in backups:
        error = exc if isinstance(exc, HostError) else host_error("back up", path, cast(OSError, exc))
        for owner in wait.owners:
            failed.setdefault(owner, error)


def _fsync_temp(directory: int, temp: str) -> None:
    fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(walker: Walker, directory: Path) -> None:
    fd = walker.open_directory(directory)
    try:
        files.fsync_at(fd, directory)
    finally:
        os.close(fd)


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
