"""File operations on host paths (already resolved by Root): atomic writes and links, state, owner, mode.

Each operation opens the path's directory through a `Walker` (by default anchored at that
directory itself) and acts relative to that descriptor, never following a link in the final name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from agent.errors import HostError
from agent.system._oserror import host_error
from agent.system.paths import Walker

_TEMP_SUFFIX = ".tend-"
_TEMP_NAME = re.compile(r"^\..+\.tend-[0-9a-f]{6}$")
# Room for the prefix dot and the suffix within NAME_MAX (255) however long the target's name is.
_TEMP_STEM_MAX = 200
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Non-blocking: a FIFO put where a file was expected must not hang the run.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_INODE_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_ANCHORED = Walker(None)
_T = TypeVar("_T")


class FileKind(StrEnum):
    FILE = "file"
    DIRECTORY = "directory"
    LINK = "link"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FileState:
    """What lstat says about a path; `mode` holds the permission bits (with setuid, setgid, sticky)."""

    kind: FileKind
    mode: int
    uid: int
    gid: int
    size: int
    target: str | None = None


def write_atomic(
    path: Path,
    data: bytes | Iterable[bytes],
    *,
    mode: int,
    uid: int | None = None,
    gid: int | None = None,
    validate: Callable[[Path], None] | None = None,
    sync_dir: bool = True,
    walker: Walker | None = None,
    unless: Callable[[], bool] | None = None,
) -> bool:
    """Replace `path` with `data` (bytes, or its pieces in order) so that readers see the old or the new
    content, never a part; returns whether it did. `unless` is asked once the pieces are written (a stream
    may know only then that they are what `path` holds): when True the temp file goes and `path` stays.

    `sync_dir=False` leaves the fsync of the directory (which makes the rename durable) to the
    caller, who batches it: System.sync() does each directory once.

    The temp file next to it gets its owner and mode before `validate(temp)` runs and before the
    rename, so the file is never visible with other permissions. When `validate` raises, or anything
    fails, the temp file is removed, `path` keeps its old content and the error propagates (an
    OSError as HostError naming `path`).
    """
    with _at(walker, path, "write") as (directory, name):
        temp = write_temp(directory, path, data, mode=mode, uid=uid, gid=gid, sync=unless is None)
        try:
            if unless is not None:
                if unless():
                    discard(directory, temp)
                    return False
                fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if validate is not None:
                validate(path.with_name(temp))
            os.replace(temp, name, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException as exc:
            discard(directory, temp)
            if isinstance(exc, OSError):
                raise host_error("write", path, exc) from exc
            raise
        if sync_dir:
            fsync_at(directory, path.parent)
    return True


def write_temp(
    directory: int,
    path: Path,
    data: bytes | Iterable[bytes],
    *,
    mode: int,
    uid: int | None,
    gid: int | None,
    sync: bool,
) -> str:
    """A new temp file next to `path` (in `directory`, a descriptor) holding `data` (bytes, or its pieces in
    order) with its owner and mode; its name.

    `sync=False` leaves its data to the caller's batch (agent/system/batch.py), which makes it durable before
    the rename. On any error the temp file is gone and the error names `path`.
    """
    fd, temp = _create_temp(path, lambda t: os.open(t, _CREATE_FLAGS, 0o600, dir_fd=directory))
    try:
        try:
            for chunk in (data,) if isinstance(data, bytes) else data:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            # After fchown, which clears setuid/setgid bits.
            os.fchmod(fd, mode)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        discard(directory, temp)
        if isinstance(exc, OSError):
            raise host_error("write", path, exc) from exc
        raise
    return temp


def symlink_atomic(target: str, path: Path, *, walker: Walker | None = None) -> None:
    """Make `path` a symlink to `target`, replacing a file or link there in one rename."""
    with _at(walker, path, "link") as (directory, name):
        _, temp = _create_temp(path, lambda t: os.symlink(target, t, dir_fd=directory))
        try:
            os.replace(temp, name, src_dir_fd=directory, dst_dir_fd=directory)
        except OSError as exc:
            discard(directory, temp)
            raise host_error("link", path, exc) from exc
        fsync_at(directory, path.parent)


def _create_temp(path: Path, create: Callable[[str], _T]) -> tuple[_T, str]:
    """Create a fresh `.{name}.tend-XXXXXX` next to `path` with `create` (which must fail if it exists)."""
    stem = path.name[:_TEMP_STEM_MAX]
    while True:
        temp = f".{stem}{_TEMP_SUFFIX}{secrets.token_hex(3)}"
        try:
            return create(temp), temp
        except FileExistsError:
            continue
        except OSError as exc:
            raise host_error("write", path, exc) from exc


def discard(directory: int, name: str) -> None:
    """Remove the temp file `name` in `directory` if it is still there."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=directory)


@contextlib.contextmanager
def _at(walker: Walker | None, path: Path, action: str) -> Iterator[tuple[int, str]]:
    """The directory holding `path` (a descriptor reached by `walker`) and `path`'s name in it."""
    try:
        directory = (walker or _ANCHORED).open_directory(path.parent)
    except OSError as exc:
        raise host_error(action, path, exc) from exc
    try:
        yield directory, path.name
    finally:
        os.close(directory)


def cleanup_stale_temps(directory: Path, *, walker: Walker | None = None) -> list[Path]:
    """Remove the temp files and links a killed run left in `directory`; returns them, sorted.

    Runs are serialized by the run lock, so any temp file found while holding it is stale. A
    directory the walker refuses to enter holds none: tend never wrote there.
    """
    try:
        fd = (walker or _ANCHORED).open_directory(directory)
    except HostError:
        return []
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return []
        raise host_error("list", directory, exc) from exc
    removed = []
    try:
        listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
        try:
            entries = sorted(os.scandir(listing), key=lambda e: e.name)
        finally:
            os.close(listing)
        for entry in entries:
            if _TEMP_NAME.match(entry.name) and not entry.is_dir(follow_symlinks=False):
                discard(fd, entry.name)
                removed.append(directory / entry.name)
    except OSError as exc:
        raise host_error("list", directory, exc) from exc
    finally:
        os.close(fd)
    return removed


def read_state(path: Path, *, walker: Walker | None = None) -> FileState | None:
    """The lstat of `path` (a link is described, not followed), or None when it does not exist."""
    try:
        directory = (walker or _ANCHORED).open_directory(path.parent)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise host_error("inspect", path, exc) from exc
    try:
        st = os.stat(path.name, dir_fd=directory, follow_symlinks=False)
        target = os.readlink(path.name, dir_fd=directory) if stat.S_ISLNK(st.st_mode) else None
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise host_error("inspect", path, exc) from exc
    finally:
        os.close(directory)
    return FileState(_kind(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size, target)


def _kind(st_mode: int) -> FileKind:
    if stat.S_ISREG(st_mode):
        return FileKind.FILE
    if stat.S_ISDIR(st_mode):
        return FileKind.DIRECTORY
    return FileKind.LINK if stat.S_ISLNK(st_mode) else FileKind.OTHER


def read_bytes(path: Path, *, walker: Walker | None = None) -> bytes:
    """The content of the file at `path`; a symlink there is refused (resolve it with follow=True)."""
    with _open_file(path, walker) as f:
        return f.read()


def file_digest(path: Path, *, walker: Walker | None = None) -> str:
    """The sha256 of the file at `path` as hex, read in chunks; a symlink there is refused."""
    with _open_file(path, walker) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _open_file(path: Path, walker: Walker | None) -> io.FileIO:
    with _at(walker, path, "read") as (directory, name):
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=directory)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise HostError("cannot read: is a symbolic link", subject=str(path)) from exc
            raise host_error("read", path, exc) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise HostError("cannot read: not a regular file", subject=str(path))
    return os.fdopen(fd, "rb", buffering=0)


def ensure_directory(
    path: Path, mode: int, uid: int | None = None, gid: int | None = None, *, walker: Walker | None = None
) -> None:
    """Make `path` a directory with this mode and owner; its parent must exist."""
    state = read_state(path, walker=walker)
    if state is None:
        with _at(walker, path, "create directory") as (directory, name):
            try:
                # Created closed, opened up by set_mode once its owner is right.
                os.mkdir(name, 0o700, dir_fd=directory)
            except OSError as exc:
                raise host_error("create directory", path, exc) from exc
            fsync_at(directory, path.parent)
    elif state.kind is not FileKind.DIRECTORY:
        raise HostError(f"cannot create directory: a {state.kind} is in the way", subject=str(path))
    if uid is not None or gid is not None:
        set_owner(path, uid, gid, walker=walker)
    set_mode(path, mode, walker=walker)


def remove(path: Path, *, recursive: bool = False, walker: Walker | None = None) -> bool:
    """Remove the file, link or empty directory at `path`; True when something was removed.

    A directory with content is removed only with `recursive=True` (links inside are not followed).
    """
    state = read_state(path, walker=walker)
    if state is None:
        return False
    with _at(walker, path, "remove") as (directory, name):
        try:
            if state.kind is not FileKind.DIRECTORY:
                os.unlink(name, dir_fd=directory)
            elif recursive:
                shutil.rmtree(name, dir_fd=directory)
            else:
                os.rmdir(name, dir_fd=directory)
        except OSError as exc:
            if exc.errno == errno.ENOTEMPTY:
                raise HostError("cannot remove: directory not empty (needs recursive)", subject=str(path)) from exc
            raise host_error("remove", path, exc) from exc
        fsync_at(directory, path.parent)
    return True


def set_mode(path: Path, mode: int, *, walker: Walker | None = None) -> None:
    """chmod `path` (not through a symlink: a link has no mode of its own on Linux)."""
    with _at(walker, path, "set mode") as (directory, name), _inode(directory, name, path, "set mode") as (fd, st):
        if stat.S_ISLNK(st.st_mode):
            raise HostError("cannot set the mode of a symbolic link", subject=str(path))
        _chmod(fd, mode, path)


def set_owner(path: Path, uid: int | None, gid: int | None, *, walker: Walker | None = None) -> None:
    """lchown `path` (a link itself, not its target), keeping setuid/setgid bits that chown clears."""
    ids = (-1 if uid is None else uid, -1 if gid is None else gid)
    with _at(walker, path, "set owner") as (directory, name), _inode(directory, name, path, "set owner") as (fd, st):
        try:
            if stat.S_ISLNK(st.st_mode):
                os.chown(name, *ids, dir_fd=directory, follow_symlinks=False)
                return
            os.chown(_proc(fd), *ids)
        except OSError as exc:
            raise host_error("set owner", path, exc) from exc
        special = stat.S_IMODE(st.st_mode) & (stat.S_ISUID | stat.S_ISGID)
        if special and stat.S_ISREG(st.st_mode):
            _chmod(fd, stat.S_IMODE(st.st_mode), path)


@contextlib.contextmanager
def _inode(directory: int, name: str, path: Path, action: str) -> Iterator[tuple[int, os.stat_result]]:
    """An O_PATH descriptor of `name` itself (a link is not followed) and its stat.

    A regular file with other hard links in a directory owned by another user is refused: that
    user may have linked a file of root's there, to have tend chmod or chown it.
    """
    try:
        fd = os.open(name, _INODE_FLAGS, dir_fd=directory)
    except OSError as exc:
        raise host_error(action, path, exc) from exc
    try:
        st = os.fstat(fd)
        owner = os.fstat(directory).st_uid
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and owner not in (0, os.geteuid()):
            raise HostError(
                f"cannot {action}: the file has other hard links and its directory is owned by uid {owner}",
                subject=str(path),
            )
        yield fd, st
    finally:
        os.close(fd)


def _proc(fd: int) -> str:
    """The path through which a change reaches exactly the inode of an O_PATH descriptor (as glibc does)."""
    return f"/proc/self/fd/{fd}"


def _chmod(fd: int, mode: int, path: Path) -> None:
    try:
        os.chmod(_proc(fd), mode)
    except OSError as exc:
        raise host_error("set mode", path, exc) from exc


def fsync_at(directory: int, path: Path) -> None:
    """fsync the directory behind an O_PATH descriptor (`path` names it in errors)."""
    try:
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=directory)
    except OSError as exc:
        raise host_error("sync directory", path, exc) from exc
    _fsync(fd, path)


def fsync_dir(path: Path) -> None:
    """fsync a directory, so that a rename or creation in it survives a crash."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise host_error("sync directory", path, exc) from exc
    _fsync(fd, path)


def _fsync(fd: int, path: Path) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems cannot sync a directory; the rename is then as durable as they make it.
        if exc.errno != errno.EINVAL:
            raise host_error("sync directory", path, exc) from exc
    finally:
        os.close(fd)
