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

    def resolve(self, managed: str, *, follow: bool = False, links: dict[str, str | None] | None = None) -> Path:
        """The host path of `managed`, an absolute path inside the root.

        Every directory component that is a symlink is followed inside the root; the last component
        is followed only with `follow=True` (a file resource manages the link itself, as lstat does;
        reading contents through a link needs `follow=True`). Missing components are fine: the
        result may name something to create. `links` remembers what each directory component was (the
        caller clears it when the host changes), so that files in one directory lstat it once.
        """
        parts = split_managed(managed)
        resolved: list[str] = []
        pending = deque(parts)
        hops = 0
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
            if not pending:
                target = _trusted_link_target(candidate) if follow else None
            elif links is None:
                target = _trusted_link_target(candidate)
            elif candidate in links:
                target = links[candidate]
            else:
                target = links[candidate] = _trusted_link_target(candidate)
            if target is None:
                resolved.append(name)
                continue
            hops += 1
            if hops > _MAX_LINKS:
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
        below = None if base is None else _below(directory, base)
        if base is None or below is None:
            if base is not None and directory != base.parent:  # the parent of the root itself is fine
                raise HostError(f"is outside the root {base}", subject=str(directory))
            return os.open(directory, _ANCHOR_FLAGS)
        fd = os.open(base, _ANCHOR_FLAGS)
        for depth, name in enumerate(below):
            try:
                child = self._step(fd, name, below, depth)
            finally:
                os.close(fd)
            fd = child
        return fd

    def _step(self, fd: int, name: str, below: list[str], depth: int) -> int:
        """Open `name` (below[depth]) in `fd` as a directory, without following it, when its owner may be trusted."""
        try:
            child = os.open(name, _WALK_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(fd, name):
                raise HostError(
                    "refusing a symbolic link where a directory is expected", subject=self._shown(below, depth)
                ) from exc
            raise
        try:
            owner = os.fstat(child).st_uid
            refused = None if owner in _trusted_owners() else self.refusal(self._at(below, depth), owner)
            if refused is not None:
                raise HostError(f"refusing to enter a directory {refused}", subject=self._shown(below, depth))
        except BaseException:
            os.close(child)
            raise
        return child

    def _at(self, below: list[str], depth: int) -> Path:
        assert self.base is not None
        return self.base.joinpath(*below[: depth + 1])

    def _shown(self, below: list[str], depth: int) -> str:
        return str(self._at(below, depth))


class CachedWalker(Walker):
    """A Walker that keeps the last few directories it opened, handing out duplicates of their descriptors.

    A kept descriptor is the directory that was checked when it was opened, so nothing is followed that the
    walk would have refused; `forget()` (after every change tend makes, and when trust changes) drops them all,
    so a path is walked afresh once the host may have changed. It holds at most `KEEP` descriptors.
    """

    __slots__ = ("_kept",)
    KEEP = 8

    def __init__(self, base: Path | None, refusal: Refusal = lambda path, uid: f"owned by uid {uid}"):
        super().__init__(base, refusal)
        self._kept: dict[Path, int] = {}

    def open_directory(self, directory: Path) -> int:
        kept = self._kept.get(directory)
        if kept is None:
            if len(self._kept) >= self.KEEP:
                os.close(self._kept.pop(next(iter(self._kept))))
            kept = self._kept[directory] = super().open_directory(directory)
        return os.dup(kept)

    def forget(self) -> None:
        kept, self._kept = self._kept, {}
        for fd in kept.values():
            os.close(fd)

    def __del__(self) -> None:
        self.forget()


def _below(directory: Path, base: Path) -> list[str] | None:
    """The names from `base` down to `directory` ([] for `base` itself), or None when it is not below it."""
    text, top = str(directory), str(base)
    if text == top:
        return []
    prefix = top if top.endswith("/") else top + "/"
    return text[len(prefix) :].split("/") if text.startswith(prefix) else None


def _is_link(fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False
