"""The one compile cache (DESIGN §8.19): compiles kept on disk, keyed by the tree, the host and the code, and
reused only while every fact the compile read still has the value it had.

An entry is one file `<key>.tcc`, 0600 in a 0700 directory of its owner, written atomically: a header, the
SHA-256 of the body, and the body in marshal's format (plain data only, so reading it runs no code). An entry
that is truncated, damaged, of another format or for another key is ignored and its compile done afresh;
the directory is kept under a size bound, the least recently used entries going first. What an entry holds
is decided by its user (agent/catalog/prefetch.py, agent/fleet/catalogs.py); never a decrypted value.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import marshal
import os
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import agent
from agent.catalog.tracking import FactsRead

CACHE_FORMAT = 1
_MAGIC = b"tend compile cache 1\n"
_SUFFIX = ".tcc"
MAX_BYTES = 64 * 1024 * 1024
# A file changed this recently may change again within the same timestamp tick, unseen by its stat (git's
# "racy" files): the digest of such a file is taken from its content.
_RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Entry:
    """A kept compile: what kind of thing `body` is, and the facts it read."""

    kind: str
    facts: FactsRead
    body: Any


@functools.cache
def code_digest() -> str:
    """This tend's code: its version, the interpreter's marshal format, and every module file's stat (a
    checkout edited in place keeps its version number)."""
    digest = hashlib.sha256(f"{agent.__version__}\0{sys.implementation.cache_tag}".encode())
    package = Path(agent.__file__).parent
    _walk_stats(str(package), "", digest, skip=lambda name, relative: name == "__pycache__", young=time.time_ns())
    return digest.hexdigest()


def tree_digest(root: Path, *, at: int | None = None) -> str | None:
    """A digest of everything under `root` (but .git) a compile can read: each entry's name, type, mode,
    size, inode and change times, a link's target, and the content of a file changed in the two seconds
    before `at` (ns since the epoch; default now: a caller that digests twice to see a change gives both
    the same `at`). None when the tree cannot be read."""
    digest = hashlib.sha256()
    young = (time.time_ns() if at is None else at) - _RACY_NS
    try:
        _walk_stats(str(root), "", digest, skip=lambda name, relative: relative == ".git", young=young)
    except OSError:
        return None
    return f"stat:{digest.hexdigest()}"


def _walk_stats(directory: str, prefix: str, digest: Any, *, skip: Callable[[str, str], bool], young: int) -> None:
    """Feed `digest` with the stat of every entry under `directory` (named `prefix`-relative), sorted, and
    the content of each file changed after `young` (ns since the epoch)."""
    with os.scandir(directory) as found:
        entries = sorted(found, key=lambda entry: entry.name)
    for entry in entries:
        relative = prefix + entry.name
        if skip(entry.name, relative):
            continue
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            digest.update(f"D{relative}\0{info.st_mode}\0".encode("utf-8", "surrogateescape"))
            _walk_stats(entry.path, relative + "/", digest, skip=skip, young=young)
            continue
        target = os.readlink(entry.path) if stat.S_ISLNK(info.st_mode) else ""
        fields = (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
        digest.update(f"F{relative}\0{fields}\0{target}\0".encode("utf-8", "surrogateescape"))
        if stat.S_ISREG(info.st_mode) and max(info.st_mtime_ns, info.st_ctime_ns) > young:
            digest.update(hashlib.sha256(Path(entry.path).read_bytes()).digest())


class CompileCache:
    """Compiles on disk in `directory` (None: no cache, every get misses and put keeps nothing);
    `read_only`: entries are used, none written (noop and plan write nothing)."""

    def __init__(self, directory: Path | None, *, max_bytes: int = MAX_BYTES, read_only: bool = False):
        self.directory = directory
        self.max_bytes = max_bytes
        self.read_only = read_only
        self._usable: bool | None = None

    def part(self, name: str) -> CompileCache:
        """A cache of its own in the folder `name` of this one, for what is not a compile (a checked inventory):
        kept apart, under its own bound, as read-only as this one."""
        directory = None if self.directory is None else self.directory / name
        return CompileCache(directory, max_bytes=self.max_bytes, read_only=self.read_only)

    def key(self, *parts: str | None) -> str | None:
        """The name of an entry for `parts` (what the compile is of: its kind, tree digest, host …); None
        when a part is unknown (an unknown tree digest: nothing is kept)."""
        if self.directory is None or any(part is None for part in parts):
            return None
        ident = json.dumps([CACHE_FORMAT, code_digest(), *parts])
        return hashlib.sha256(ident.encode()).hexdigest()

    def get(self, key: str | None, facts: Mapping[str, Any]) -> Entry | None:
        """The entry of `key` when its facts still match `facts`; None otherwise (or when it is unreadable)."""
        path = self._path(key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
            entry = _decode(data, key)
        except (OSError, ValueError, EOFError, TypeError, KeyError):
            return None
        if not entry.facts.matches(facts):
            return None
        if not self.read_only:
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: pruned last
        return entry

    def put(self, key: str | None, kind: str, facts: FactsRead, body: Any, *, prune: bool = True) -> bool:
        """Keep `body` under `key`, then (`prune`) bound the directory; False when it is not kept (no cache,
        facts or body not plain data, a directory that cannot be written). Never an error: a cache that fails
        only makes compiles slower."""
        path = self._path(key)
        if path is None or not facts.plain or self.read_only:
            return False
        try:
            payload = marshal.dumps((key, kind, facts.to_plain(), body))
        except ValueError:
            return False
        data = _MAGIC + hashlib.sha256(payload).digest() + payload
        from agent.errors import HostError
        from agent.system import files

        try:
            files.write_atomic(path, data, mode=0o600, sync_dir=False)
        except (HostError, OSError):
            return False
        if prune:
            self.prune()
        return True

    def prune(self) -> None:
        """Remove the least recently used entries until the directory holds at most `max_bytes`."""
        if self.directory is None or self.read_only or not self._ready():
            return
        try:
            with os.scandir(self.directory) as listing:
                found = [(e.stat(follow_symlinks=False), e.path) for e in listing if e.name.endswith(_SUFFIX)]
            entries = [(info.st_mtime_ns, info.st_size, path) for info, path in found if stat.S_ISREG(info.st_mode)]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries)[:-1]:  # the newest stays, however large
            if total <= self.max_bytes:
                break
            try:
                os.unlink(path)
            except OSError:
                continue
            total -= size

    def _path(self, key: str | None) -> Path | None:
        if key is None or self.directory is None or not self._ready():
            return None
        return self.directory / f"{key}{_SUFFIX}"

    def _ready(self) -> bool:
        """The directory exists (made 0700 if not) and is this user's own, and nobody else can write in it (an
        entry is a catalog to converge). One that others could only read is closed to them."""
        if self._usable is None:
            assert self.directory is not None
            try:
                if not self.read_only:
                    self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                info = os.lstat(self.directory)
                self._usable = stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022
                if self._usable and info.st_mode & 0o077 and not self.read_only:
                    os.chmod(self.directory, 0o700)
            except OSError:
                self._usable = False
        return self._usable


def _decode(data: bytes, key: str | None) -> Entry:
    """An entry's file as written by `put` for `key` (ValueError for anything else)."""
    head = len(_MAGIC)
    if not data.startswith(_MAGIC) or hashlib.sha256(data[head + 32 :]).digest() != data[head : head + 32]:
        raise ValueError("not an intact cache entry")
    stored, kind, facts, body = marshal.loads(data[head + 32 :])
    if stored != key or not isinstance(kind, str):
        raise ValueError("an entry of another key")
    return Entry(kind, FactsRead.from_plain(facts), body)
