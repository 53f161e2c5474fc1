"""The host side of watch: a thin wrapper around watchdog's Observer (inotify), the kernel's inotify limits,
and the stat signatures that tell a change behind tend's back from tend's own writes.

watchdog is imported when a Watcher is made, never before (DESIGN §8.18).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver, ObservedWatch

INOTIFY = Path("/proc/sys/fs/inotify")
# Events that say a path changed; opens and reads (tend's own inspections among them) say nothing.
CHANGES = frozenset(["created", "deleted", "modified", "moved", "closed"])


def inotify_limits(proc: Path = INOTIFY) -> tuple[int, int]:
    """The kernel's (max_user_instances, max_user_watches); Linux's usual defaults when unreadable."""
    values = []
    for name, default in (("max_user_instances", 128), ("max_user_watches", 8192)):
        try:
            values.append(int((proc / name).read_text().strip()))
        except (OSError, ValueError):
            values.append(default)
    return values[0], values[1]


def signature(path: str) -> tuple[int, ...] | None:
    """What an lstat says of `path` that a change would alter (None: absent). A directory's times and size
    are left out: tend's own temp files in it change them."""
    try:
        found = os.lstat(path)
    except OSError:
        return None
    kind = stat.S_IFMT(found.st_mode)
    owner = (kind, found.st_ino, found.st_dev, found.st_mode, found.st_uid, found.st_gid)
    if kind == stat.S_IFDIR:
        return owner
    return (*owner, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


def count_dirs(top: str, limit: int) -> int:
    """The directories of the tree at `top` (itself included, symlinks not followed), stopping past `limit`."""
    count = 0
    for _root, dirs, _files in os.walk(top, followlinks=False):
        count += 1
        if count > limit:
            break
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(_root, d))]
    return count


def directory_id(path: str) -> tuple[int, int] | None:
    """A directory's device and inode: a watch on one that was removed or replaced must be made again."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISDIR(found.st_mode) else None


class Watcher:
    """watchdog's Observer with the directories of a plan scheduled; `on_path(path)` is called from
    watchdog's thread with each path an event says changed (both ends of a move)."""

    def __init__(self, on_path: Callable[[str], None]):
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in CHANGES:
                    for path in (event.src_path, getattr(event, "dest_path", "")):
                        if path:
                            on_path(os.fsdecode(path))

        self.handler = _Handler()
        self.observer: BaseObserver = Observer()
        self.scheduled: dict[tuple[str, bool], tuple[ObservedWatch, tuple[int, int] | None]] = {}
        self.observer.start()

    def watch(self, wanted: list[tuple[str, bool]]) -> None:
        """Watch exactly the (directory, recursive) pairs in `wanted`; one whose directory was removed or
        replaced since it was scheduled is scheduled again."""
        for key, (handle, identity) in list(self.scheduled.items()):
            if key not in wanted or directory_id(key[0]) != identity:
                self._unschedule(handle)
                del self.scheduled[key]
        for directory, recursive in wanted:
            identity = directory_id(directory)
            if (directory, recursive) not in self.scheduled and identity is not None:
                handle = self.observer.schedule(self.handler, directory, recursive=recursive)
                self.scheduled[directory, recursive] = (handle, identity)

    def _unschedule(self, handle: Any) -> None:
        with contextlib.suppress(KeyError, OSError):  # the directory went away: watchdog let the watch go first
            self.observer.unschedule(handle)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)
