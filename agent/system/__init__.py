"""The only code of tend that touches the host, bundled in one `System` object that is passed around."""

from __future__ import annotations

import functools
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from agent.errors import TendError
from agent.system import commands, fetch, files
from agent.system._oserror import host_error
from agent.system.accounts import Accounts, Group, User
from agent.system.batch import Batch
from agent.system.bucket import Bucket
from agent.system.commands import CommandResult
from agent.system.files import FileKind, FileState
from agent.system.lock import RunLock
from agent.system.paths import CachedWalker, Root, Walker, split_managed

# Host paths `resolve` remembers, the oldest forgotten first: a run of many files keeps no Path per file.
_KEEP_RESOLVED = 64

__all__ = ["Bucket", "CommandResult", "FileKind", "FileState", "Host", "Root", "RunLock", "System"]


class Host(Protocol):
    """What resources, providers and the runner use of the host: `System` is the real one, and
    tests/unit/fakes.py `FakeSystem` the one unit tests give them. See `System` for each method."""

    root: Root

    def resolve(self, managed: str, *, follow: bool = False) -> Path: ...
    def changed(self) -> None: ...
    def trust(self, *, paths: Iterable[str] = (), users: Iterable[str] = ()) -> None: ...
    def sync(self) -> None: ...
    def acting_for(self, owner: str | None) -> None: ...
    def failed_writes(self) -> dict[str | None, TendError]: ...
    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        user: str | None = None,
        in_root: bool = False,
        daemon: bool = False,
    ) -> CommandResult: ...
    def has_command(self, name: str) -> bool: ...
    def process_alive(self, pid: int) -> bool: ...
    def processes_matching(self, pattern: re.Pattern[str]) -> list[int]: ...
    def terminate(self, pids: list[int], timeout: float) -> list[int]: ...
    def backup(self, data: bytes) -> str | None: ...
    def uid_of(self, name: str) -> int: ...
    def gid_of(self, name: str) -> int: ...
    def user_name(self, uid: int) -> str | None: ...
    def group_name(self, gid: int) -> str | None: ...
    def users(self) -> list[User]: ...
    def groups(self) -> list[Group]: ...
    def write_atomic(
        self,
        path: Path,
        data: bytes,
        *,
        mode: int,
        uid: int | None = None,
        gid: int | None = None,
        validate: Callable[[Path], None] | None = None,
    ) -> None: ...
    def write_in_place(self, path: Path, data: bytes) -> None: ...
    def read_only(self, path: Path) -> bool: ...
    def symlink_atomic(self, target: str, path: Path) -> None: ...
    def read_state(self, path: Path) -> FileState | None: ...
    def read_bytes(self, path: Path) -> bytes: ...
    def entries(self, path: Path) -> list[str]: ...
    def file_digest(self, path: Path) -> str: ...
    def ensure_directory(self, path: Path, mode: int, uid: int | None = None, gid: int | None = None) -> None: ...
    def remove(self, path: Path, *, recursive: bool = False) -> bool: ...
    def set_mode(self, path: Path, mode: int) -> None: ...
    def set_owner(self, path: Path, uid: int | None, gid: int | None) -> None: ...
    def cleanup_stale_temps(self, directory: Path) -> list[Path]: ...
    def list_directory(self, path: Path) -> list[str]: ...
    def fetch(self, url: str, sha256: str) -> bytes: ...


def _walked(function: Callable[..., Any], *, within: bool = False, reads: bool = False, replaces: bool = False) -> Any:
    """A function of agent.system.files as a System method that walks paths with the System's walker
    (`reads`: one that only reads, with the walker that keeps the directories it opened).

    The durability batch is flushed first when the path (its first argument) is a write waiting there, or
    with `within`, when the path also holds one (a listing would show its temp file); with `replaces` (a removal),
    also when any backup waits.
    """

    @functools.wraps(function)
    def method(self: System, path: Path, *args: Any, **kwargs: Any) -> Any:
        self._settle(path, within=within, replaces=replaces)
        return function(path, *args, walker=self._reader if reads else self.walker, **kwargs)

    return method


class System:
    """What resources and providers need of the host: paths under the root, commands, files, accounts.

    Managed paths are `str` ("/etc/motd"); `resolve` turns them into host `Path`s, which the file
    methods take. Backups go to `bucket` (None: no backups are kept). The file methods walk host
    paths from the root without following links, and enter a directory owned by another user than
    root (or the user tend runs as) only when `trust` was told of it or of its owner.
    """

    __slots__ = (
        "_batch", "_commands", "_dirty", "_links", "_reader", "_resolved", "_trusted_dirs", "_trusted_users",
        "accounts", "bucket", "command_timeout", "root", "walker",
    )  # fmt: skip

    def __init__(self, root: Root, bucket: Bucket | None = None, command_timeout: float = 300):
        self.root = root
        self.bucket = bucket
        self.command_timeout = command_timeout
        self.accounts = Accounts(root)
        self._commands: dict[str, bool] = {}
        self._resolved: dict[tuple[str, bool], Path] = {}  # the last few only: a resource asks for its own paths
        self._links: dict[str, str | None] = {}  # directory components Root.resolve looked at
        self._dirty: set[Path] = set()
        self._batch = Batch()
        self._trusted_dirs: frozenset[str] = frozenset()  # managed paths, lexical and resolved
        self._trusted_users: frozenset[str] = frozenset()
        self.walker = Walker(root.path, self._refusal)
        # Checks read through kept directories; every change walks afresh, so a directory swapped for a link
        # after a check is refused, not written through.
        self._reader = CachedWalker(root.path, self._refusal)

    def trust(self, *, paths: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        """Let file operations enter directories owned by other users: those at the managed `paths`, and
        any owned by one of `users` (DESIGN §8.6). The runner passes the catalog's file paths and users.
        """
        # Kept as managed paths, mostly the resources' own strings: a catalog of many files holds no path twice.
        lexical = [(managed, "/" + "/".join(split_managed(managed))) for managed in paths]
        top = str(self.root.path).rstrip("/")
        dirs = {managed if managed == normal else normal for managed, normal in lexical}
        for managed, normal in lexical:
            try:
                resolved = str(self.root.resolve(managed, links=self._links))
            except TendError:
                continue  # a link in the way is reported when the resource itself is applied
            if resolved != top + normal:
                dirs.add(resolved[len(top) :] or "/")
        self._trusted_dirs, self._trusted_users = frozenset(dirs), frozenset(users)
        self._reader.forget()

    def _refusal(self, directory: Path, uid: int) -> str | None:
        """None when `directory`, owned by `uid`, may be entered; else why not (Walker's question)."""
        text = str(directory)
        top = str(self.root.path).rstrip("/")
        if text.startswith(top + "/") and text[len(top) :] in self._trusted_dirs:
            return None
        owner = self.user_name(uid)
        if owner is not None and owner in self._trusted_users:
            return None
        who = f"user {owner}" if owner else f"uid {uid}"
        return f"owned by {who}, who is not a user of the catalog (declare user:{owner or uid} or this directory)"

    def __repr__(self) -> str:
        return f"System({self.root!r}, {self.bucket!r})"

    def resolve(self, managed: str, *, follow: bool = False) -> Path:
        """Root.resolve, remembered until something changes on the host (see `changed`)."""
        key = (managed, follow)
        found = self._resolved.get(key)
        if found is None:
            if follow and self._batch and self._batch.touches(self.resolve(managed)):
                # A waiting write may replace a link that following would go through.
                self._flush()
            if len(self._resolved) >= _KEEP_RESOLVED:
                del self._resolved[next(iter(self._resolved))]
            found = self._resolved[key] = self.root.resolve(managed, follow=follow, links=self._links)
        return found

    def changed(self) -> None:
        """Something on the host was changed: a link may now stand where a directory was."""
        self._resolved.clear()
        self._links.clear()
        self._reader.forget()

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        user: str | None = None,
        in_root: bool = False,
        daemon: bool = False,
    ) -> CommandResult:
        """commands.run with the default timeout; `in_root` chroots into the root unless it is '/'.

        Without `in_root` the command runs on the host even under another root: pass the root to
        tools that take one (`dpkg --root`, `systemctl --root`). `daemon`: see commands.run. A command may
        read any file, so the durability batch is flushed first (DESIGN §8.16).
        """
        self._flush()
        return commands.run(
            argv,
            input=input,
            env=env,
            cwd=cwd,
            timeout=self.command_timeout if timeout is None else timeout,
            user=user,
            chroot=self.root.path if in_root and not self.root.is_host else None,
            daemon=daemon,
        )

    def has_command(self, name: str) -> bool:
        """Whether `name` is on the PATH that commands run with (on the host, not inside the root); asked once."""
        found = self._commands.get(name)
        if found is None:
            found = self._commands[name] = shutil.which(name, path=commands.DEFAULT_ENV["PATH"]) is not None
        return found

    # The process table needs psutil, imported only by the runs that look at processes.
    def process_alive(self, pid: int) -> bool:
        from agent.system import processes

        return processes.alive(pid)

    def processes_matching(self, pattern: re.Pattern[str]) -> list[int]:
        from agent.system import processes

        return processes.matching(pattern)

    def terminate(self, pids: list[int], timeout: float) -> list[int]:
        from agent.system import processes

        return processes.terminate(pids, timeout)

    def backup(self, data: bytes) -> str | None:
        """Store `data` in the bucket and return its digest; None when there is no bucket. While `acting_for`
        names a resource the copy joins the durability batch, stored durably at its flush before any rename."""
        if self.bucket is None:
            return None
        return self.bucket.put(data, self._batch if self._batch.owner is not None else None)

    def uid_of(self, name: str) -> int:
        self._settle_accounts()
        return self.accounts.uid_of(name)

    def gid_of(self, name: str) -> int:
        self._settle_accounts()
        return self.accounts.gid_of(name)

    def user_name(self, uid: int) -> str | None:
        self._settle_accounts()
        return self.accounts.user_name(uid)

    def group_name(self, gid: int) -> str | None:
        self._settle_accounts()
        return self.accounts.group_name(gid)

    def users(self) -> list[User]:
        """The users of the root's passwd file (what useradd manages; no NSS)."""
        self._settle_accounts()
        return self.accounts.users()

    def groups(self) -> list[Group]:
        """The groups of the root's group file (no NSS)."""
        self._settle_accounts()
        return self.accounts.groups()

    def write_atomic(
        self,
        path: Path,
        data: bytes,
        *,
        mode: int,
        uid: int | None = None,
        gid: int | None = None,
        validate: Callable[[Path], None] | None = None,
    ) -> None:
        """files.write_atomic, made durable by sync() (the runner calls it).

        While `acting_for` names a resource, the write joins the durability batch (renamed at its flush);
        else, or with `validate` (a command that may read other files), it is renamed at once after its own
        fsync, and only its directory's fsync waits for sync().
        """
        if validate is None and self._batch.owner is not None:
            self._batch.write(path, data, mode=mode, uid=uid, gid=gid, walker=self.walker)
            return
        self._flush()
        files.write_atomic(
            path, data, mode=mode, uid=uid, gid=gid, validate=validate, sync_dir=False, walker=self.walker
        )
        self._dirty.add(path.parent)

    def write_in_place(self, path: Path, data: bytes) -> None:
        """Write `data` into an existing file that cannot be replaced (a kernel setting under /proc/sys)."""
        self._settle(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as exc:
            raise host_error("write", path, exc) from exc

    def read_only(self, path: Path) -> bool:
        """Whether the filesystem holding `path` is mounted read-only (/proc/sys in a container)."""
        try:
            return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
        except OSError as exc:
            raise host_error("inspect", path, exc) from exc

    def list_directory(self, path: Path) -> list[str]:
        """The names in the directory at `path`, sorted; a symlink there is refused, never followed."""
        self._settle(path, within=True)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                return sorted(os.listdir(fd))
            finally:
                os.close(fd)
        except OSError as exc:
            raise host_error("list", path, exc) from exc

    def fetch(self, url: str, sha256: str) -> bytes:
        """The content at `url` whose sha256 (hex) is `sha256`: from the bucket when it holds it, else
        downloaded (fetch.download), checked, and kept in the bucket, so it is fetched once."""
        if self.bucket is not None and self.bucket.has(sha256):
            return self.bucket.get(sha256)
        data = fetch.download(url, sha256)
        self.backup(data)
        return data

    def sync(self) -> None:
        """Make every write so far durable: the batch flushed, then one fsync per other directory written in."""
        self._flush()
        for directory in sorted(self._dirty):
            files.fsync_dir(directory)
        self._dirty.clear()

    def symlink_atomic(self, target: str, path: Path) -> None:
        self._settle(path, replaces=True)
        files.symlink_atomic(target, path, walker=self.walker)

    def acting_for(self, owner: str | None) -> None:
        """The writes that follow are `owner`'s (a resource id), batched; None: written one by one."""
        self._batch.owner = owner

    def failed_writes(self) -> dict[str | None, TendError]:
        """The batched writes that failed at a flush since the last call, by owner: their targets kept
        the old content."""
        return dict(self._batch.take_failures())

    def _flush(self) -> None:
        if not self._batch:
            return
        self._batch.flush()
        self.changed()  # a rename may replace a link that a remembered resolution or directory went through

    def _settle(self, path: Path, *, within: bool = False, replaces: bool = False) -> None:
        """Flush the batch first when `path` is a write waiting there (`within`: or holds one); before a removal
        or a replacement outside the batch (`replaces`), also when a backup waits, and refuse it when the
        backup of the resource acting failed."""
        batch = self._batch
        if batch and (
            (replaces and batch.holds_backups()) or (batch.touches(path) if within else batch.waits_for(path))
        ):
            self._flush()
        unbacked = batch.unbacked(batch.owner) if replaces and batch.owner is not None else None
        if unbacked is not None:
            raise unbacked

    def _settle_accounts(self) -> None:
        """Names and ids are read from the root's passwd and group files: a write of either waiting is flushed."""
        if self._batch:
            etc = self.root.path / "etc"
            if self._batch.waits_for(etc / "passwd") or self._batch.waits_for(etc / "group"):
                self._flush()

    def entries(self, path: Path) -> list[str]:
        """The names in the directory `path`, sorted; [] when it does not exist."""
        self._settle(path, within=True)
        try:
            anchor = self._reader.open_directory(path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise host_error("list", path, exc) from exc
        try:
            fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=anchor)
        finally:
            os.close(anchor)
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def cleanup_stale_temps(self, directory: Path) -> list[Path]:
        """files.cleanup_stale_temps, walked from the root for a directory inside it (tend's own state is not)."""
        self._settle(directory, within=True)
        inside = directory.is_relative_to(self.root.path)
        return files.cleanup_stale_temps(directory, walker=self.walker if inside else None)

    read_state = _walked(files.read_state, reads=True)
    read_bytes = _walked(files.read_bytes, reads=True)
    file_digest = _walked(files.file_digest, reads=True)
    ensure_directory = _walked(files.ensure_directory)
    remove = _walked(files.remove, within=True, replaces=True)
    set_mode = _walked(files.set_mode)
    set_owner = _walked(files.set_owner)
    fsync_dir = staticmethod(files.fsync_dir)
