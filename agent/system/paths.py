"""`--root`, implemented once: maps managed paths to host paths, and walks host paths without following links."""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from collections.abc import Callable
from pathlib import Path

from agent.errors import HostError
from agent.system._oserror import host_error, is_missing

# The kernel's own limit (MAXSYMLINKS) on links followed while resolving one path.
_MAX_LINKS = 40
_WALK_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ANCHOR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
# Given a directory owned by another user than root or us (its host path, its owner): None to enter
# it, or why not ("owned by alice, …").
Refusal = Callable[[Path, int], str | None]


class Root:
    """The directory tend manages as `/`: `Root(Path('/'))` for the host, a temporary tree in tests.

    Convention across agent/system: a managed path is a `str` (`"/etc/motd"`), a host path is a `Path`
    (`Root.resolve` turns the first into the second).

    Symlinks are resolved relative to the root, as a process chrooted into it would see them: an
    absolute link target starts again at the root, and `..` that climbs above the root stays at the
    root (clamped, as the kernel does for `/..`). So no managed path can name anything outside the
    root, and `Root(Path('/'))` behaves exactly like the host.
    """

    __slots__ = ("is_host", "path")

    def __init__(self, path: Path):
        self.path = Path(os.path.realpath(path))
        self.is_host = self.path == Path("/")

    def __repr__(self) -> str:
        return f"Root({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Root) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def resolve(self, managed: str, *, follow: bool = False) -> Path:
        """The host path of `managed`, an absolute path inside the root.

        Every directory component that is a symlink is followed inside the root; the last component
        is followed only with `follow=True` (a file resource manages the link itself, as lstat does;
        reading contents through a link needs `follow=True`). Missing components are fine: the
        result may name something to create.
        """
        parts = split_managed(managed)
        resolved: list[str] = []
        pending = deque(parts)
        links = 0
        base = str(self.path)
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = os.path.join(base, *resolved, name)
            target = _trusted_link_target(candidate) if pending or follow else None
            if target is None:
                resolved.append(name)
                continue
            links += 1
            if links > _MAX_LINKS:
                raise HostError("too many levels of symbolic links", subject=managed)
            if target.startswith("/"):
                resolved.clear()
            pending.extendleft(reversed(target.split("/")))
        return self.path.joinpath(*resolved)


def split_managed(managed: str) -> list[str]:
    """The components of a managed path; refuses relative paths, `..` components and NUL bytes."""
    if not managed.startswith("/"):
        raise HostError("not an absolute path", subject=managed or "''")
    if "\0" in managed:
        raise HostError("path contains a NUL byte", subject=repr(managed))
    parts = [p for p in managed.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise HostError("path must not contain '..'", subject=managed)
    return parts


def _trusted_link_target(path: str) -> str | None:
    """The target of `path` when it is a symlink owned by root or us, else None (also when it does not exist)."""
    try:
        st = os.lstat(path)
        if not stat.S_ISLNK(st.st_mode):
            return None
        if st.st_uid not in _trusted_owners():
            raise HostError(
                f"refusing to follow a symbolic link owned by uid {st.st_uid} (only links owned by root or by "
                "the user tend runs as are followed)",
                subject=path,
            )
        return os.readlink(path)
    except OSError as e:
        if is_missing(e):
            return None
        raise host_error("resolve", path, e) from e


def _trusted_owners() -> tuple[int, int]:
    return (0, os.geteuid())


class Walker:
    """Opens host paths one component at a time from `base`, never following a link (DESIGN §8.6).

    Every directory below `base` is opened with O_NOFOLLOW relative to the one before, so a
    component swapped for a symlink after it was resolved is refused instead of followed. A
    directory owned by another user than root or us is entered only when `refusal(path, uid)` is
    None (System asks the catalog). `base` itself is trusted as given; `Walker(None)` anchors every
    walk at the path's own directory (tend's own state files, in directories it keeps 0700).
    """

    __slots__ = ("base", "refusal")

    def __init__(self, base: Path | None, refusal: Refusal = lambda path, uid: f"owned by uid {uid}"):
        self.base = base
        self.refusal = refusal

    def __repr__(self) -> str:
        return f"Walker({str(self.base) if self.base else None!r})"

    def open_directory(self, directory: Path) -> int:
        """An O_PATH descriptor of `directory` (the caller closes it); OSError when a component is missing."""
        base = self.base
        if base is None or not directory.is_relative_to(base):
            if base is not None and directory != base.parent:  # the parent of the root itself is fine
                raise HostError(f"is outside the root {base}", subject=str(directory))
            return os.open(directory, _ANCHOR_FLAGS)
        fd = os.open(base, _ANCHOR_FLAGS)
        current = base
        for name in directory.relative_to(base).parts:
            current = current / name
            try:
                child = self._step(fd, name, current)
            finally:
                os.close(fd)
            fd = child
        return fd

    def _step(self, fd: int, name: str, current: Path) -> int:
        """Open `name` in `fd` as a directory, without following it, when its owner may be trusted."""
        try:
            child = os.open(name, _WALK_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(fd, name):
                raise HostError("refusing a symbolic link where a directory is expected", subject=str(current)) from exc
            raise
        try:
            owner = os.fstat(child).st_uid
            refused = None if owner in _trusted_owners() else self.refusal(current, owner)
            if refused is not None:
                raise HostError(f"refusing to enter a directory {refused}", subject=str(current))
        except BaseException:
            os.close(child)
            raise
        return child


def _is_link(fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False
