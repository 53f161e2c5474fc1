"""Directory trees for the `file` type: the strays of a purged directory, and trees removed with their content
kept in the bucket. Nothing here follows a symlink: a link is an entry like any other, removed as a link."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from pathlib import Path

from agent.system import FileKind, Host


def strays(system: Host, directory: str, keep: Mapping[str, bool], ignore: Sequence[str]) -> list[str]:
    """Paths under `directory` that no resource declares, sorted.

    `keep` holds every declared path under it (and each ancestor of one), saying whether to look inside
    (a declared directory that does not purge itself); `ignore` globs match an entry's name or its
    path relative to `directory`.
    """
    found: list[str] = []
    pending = [directory]
    while pending:
        current = pending.pop()
        host = system.resolve(current)
        state = system.read_state(host)
        if state is None or state.kind is not FileKind.DIRECTORY:
            continue  # a link where a directory was declared is the job of that directory's resource
        for name in system.list_directory(host):
            path = f"{current}/{name}"
            relative = path[len(directory) + 1 :]
            if any(fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(relative, glob) for glob in ignore):
                continue
            if path not in keep:
                found.append(path)
            elif keep[path]:
                pending.append(path)
    return sorted(found)


def kept(directory: str, owned: Mapping[str, bool]) -> dict[str, bool]:
    """What a purge of `directory` keeps, from every path the catalog owns (True: a directory to look inside):
    the owned paths under it, and their ancestors below it, which must stay for them to."""
    prefix = directory.rstrip("/") + "/"
    keep = {path: inside for path, inside in owned.items() if path.startswith(prefix)}
    for path in list(keep):
        parent = path.rsplit("/", 1)[0]
        while parent.startswith(prefix):
            keep.setdefault(parent, True)
            parent = parent.rsplit("/", 1)[0]
    return keep


def remove_tree(system: Host, path: Path, *, sensitive: bool) -> None:
    """Remove what is at `path` (a directory with everything in it), each file's content to the bucket first.

    A file others cannot read is kept as privately as a secret.
    """
    state = system.read_state(path)
    if state is None:
        return
    _back_up(system, path, sensitive)
    system.remove(path, recursive=state.kind is FileKind.DIRECTORY)


def _back_up(system: Host, path: Path, sensitive: bool) -> None:
    state = system.read_state(path)
    if state is None:
        return
    if state.kind is FileKind.FILE:
        system.backup(system.read_bytes(path))
    elif state.kind is FileKind.DIRECTORY:
        for name in system.list_directory(path):
            _back_up(system, path / name, sensitive)
