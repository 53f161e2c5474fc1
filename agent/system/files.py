"""File operations on host paths (already resolved by Root): atomic writes and links, state, owner, mode."""

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
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from agent.errors import HostError
from agent.system._oserror import host_error

_TEMP_SUFFIX = ".tend-"
_TEMP_NAME = re.compile(r"^\..+\.tend-[0-9a-f]{6}$")
# Room for the prefix dot and the suffix within NAME_MAX (255) however long the target's name is.
_TEMP_STEM_MAX = 200
_CHUNK = 1 << 20
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
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
    data: bytes,
    *,
    mode: int,
    uid: int | None = None,
    gid: int | None = None,
    validate: Callable[[Path], None] | None = None,
    sync_dir: bool = True,
) -> None:
    """Replace `path` with `data` so that readers see the old or the new content, never a part.

    `sync_dir=False` leaves the fsync of the directory (which makes the rename durable) to the
    caller, who batches it: System.sync() does each directory once.

    The temp file next to it gets its owner and mode before `validate(temp)` runs and before the
    rename, so the file is never visible with other permissions. When `validate` raises, or anything
    fails, the temp file is removed, `path` keeps its old content and the error propagates (an
    OSError as HostError naming `path`).
    """
    fd, temp = _create_temp(path, lambda name: os.open(name, _CREATE_FLAGS, 0o600))
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            # After fchown, which clears setuid/setgid bits.
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if validate is not None:
            validate(temp)
        os.replace(temp, path)
    except BaseException as exc:
        _discard(temp)
        if isinstance(exc, OSError):
            raise host_error("write", path, exc) from exc
        raise
    if sync_dir:
        fsync_dir(path.parent)


def symlink_atomic(target: str, path: Path) -> None:
    """Make `path` a symlink to `target`, replacing a file or link there in one rename."""

    def make(name: Path) -> None:
        os.symlink(target, name)

    _, temp = _create_temp(path, make)
    try:
        os.replace(temp, path)
    except OSError as exc:
        _discard(temp)
        raise host_error("link", path, exc) from exc
    fsync_dir(path.parent)


def _create_temp(path: Path, create: Callable[[Path], _T]) -> tuple[_T, Path]:
    """Create a fresh `.{name}.tend-XXXXXX` next to `path` with `create` (which must fail if it exists)."""
    stem = path.name[:_TEMP_STEM_MAX]
    while True:
        temp = path.with_name(f".{stem}{_TEMP_SUFFIX}{secrets.token_hex(3)}")
        try:
            return create(temp), temp
        except FileExistsError:
            continue
        except OSError as exc:
            raise host_error("write", path, exc) from exc


def _discard(temp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)


def cleanup_stale_temps(directory: Path) -> list[Path]:
    """Remove the temp files and links a killed run left in `directory`; returns them, sorted.

    Runs are serialized by the run lock, so any temp file found while holding it is stale.
    """
    removed = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise host_error("list", directory, exc) from exc
    for entry in entries:
        if _TEMP_NAME.match(entry.name) and not entry.is_dir(follow_symlinks=False):
            _discard(Path(entry.path))
            removed.append(Path(entry.path))
    return removed


def read_state(path: Path) -> FileState | None:
    """The lstat of `path` (a link is described, not followed), or None when it does not exist."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise host_error("inspect", path, exc) from exc
    target = None
    if stat.S_ISREG(st.st_mode):
        kind = FileKind.FILE
    elif stat.S_ISDIR(st.st_mode):
        kind = FileKind.DIRECTORY
    elif stat.S_ISLNK(st.st_mode):
        kind, target = FileKind.LINK, os.readlink(path)
    else:
        kind = FileKind.OTHER
    return FileState(kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size, target)


def read_bytes(path: Path) -> bytes:
    """The content of the file at `path`; a symlink there is refused (resolve it with follow=True)."""
    with _open_nofollow(path) as f:
        return f.read()


def file_digest(path: Path) -> str:
    """The sha256 of the file at `path` as hex, read in chunks; a symlink there is refused."""
    digest = hashlib.sha256()
    with _open_nofollow(path) as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_nofollow(path: Path) -> io.BufferedReader:
    try:
        return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise HostError("cannot read: is a symbolic link", subject=str(path)) from exc
        raise host_error("read", path, exc) from exc


def ensure_directory(path: Path, mode: int, uid: int | None = None, gid: int | None = None) -> None:
    """Make `path` a directory with this mode and owner; its parent must exist."""
    state = read_state(path)
    if state is None:
        try:
            # Created closed, opened up by set_mode once its owner is right.
            os.mkdir(path, 0o700)
        except OSError as exc:
            raise host_error("create directory", path, exc) from exc
        fsync_dir(path.parent)
    elif state.kind is not FileKind.DIRECTORY:
        raise HostError(f"cannot create directory: a {state.kind} is in the way", subject=str(path))
    if uid is not None or gid is not None:
        set_owner(path, uid, gid)
    set_mode(path, mode)


def remove(path: Path, *, recursive: bool = False) -> bool:
    """Remove the file, link or empty directory at `path`; True when something was removed.

    A directory with content is removed only with `recursive=True` (links inside are not followed).
    """
    state = read_state(path)
    if state is None:
        return False
    try:
        if state.kind is not FileKind.DIRECTORY:
            os.unlink(path)
        elif recursive:
            shutil.rmtree(path)
        else:
            os.rmdir(path)
    except OSError as exc:
        if exc.errno == errno.ENOTEMPTY:
            raise HostError("cannot remove: directory not empty (needs recursive)", subject=str(path)) from exc
        raise host_error("remove", path, exc) from exc
    fsync_dir(path.parent)
    return True


def set_mode(path: Path, mode: int) -> None:
    """chmod `path` (not through a symlink: a link has no mode of its own on Linux)."""
    state = read_state(path)
    if state is not None and state.kind is FileKind.LINK:
        raise HostError("cannot set the mode of a symbolic link", subject=str(path))
    try:
        os.chmod(path, mode)
    except OSError as exc:
        raise host_error("set mode", path, exc) from exc


def set_owner(path: Path, uid: int | None, gid: int | None) -> None:
    """lchown `path` (a link itself, not its target), keeping setuid/setgid bits that chown clears."""
    try:
        before = os.lstat(path)
        os.lchown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        special = stat.S_IMODE(before.st_mode) & (stat.S_ISUID | stat.S_ISGID)
        if special and stat.S_ISREG(before.st_mode):
            os.chmod(path, stat.S_IMODE(before.st_mode))
    except OSError as exc:
        raise host_error("set owner", path, exc) from exc


def fsync_dir(path: Path) -> None:
    """fsync a directory, so that a rename or creation in it survives a crash."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise host_error("sync directory", path, exc) from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems cannot sync a directory; the rename is then as durable as they make it.
        if exc.errno != errno.EINVAL:
            raise host_error("sync directory", path, exc) from exc
    finally:
        os.close(fd)
