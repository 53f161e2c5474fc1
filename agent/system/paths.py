"""`--root`, implemented once: maps managed absolute paths to host paths, resolving symlinks as chroot would."""

from __future__ import annotations

import os
import stat
from collections import deque
from pathlib import Path

from agent.errors import HostError
from agent.system._oserror import host_error, is_missing

# The kernel's own limit (MAXSYMLINKS) on links followed while resolving one path.
_MAX_LINKS = 40


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
            target = _link_target(candidate) if pending or follow else None
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


def _link_target(path: str) -> str | None:
    """The target of `path` when it is a symlink, else None (also when it does not exist)."""
    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            return None
        return os.readlink(path)
    except OSError as e:
        if is_missing(e):
            return None
        raise host_error("resolve", path, e) from e
