"""The filebucket: content-addressed backups of the files tend replaces, stored by sha256."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from agent.errors import HostError
from agent.system import files
from agent.system._oserror import host_error

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
SENSITIVE_MODE = 0o600
PLAIN_MODE = 0o640
DIRECTORY_MODE = 0o700


class Bucket:
    """Backups at `<directory>/<sha256[:2]>/<sha256>`; directories are created 0700 on the first put.

    Storing the same content twice stores it once; once stored as sensitive it stays 0600.
    """

    __slots__ = ("directory",)

    def __init__(self, directory: Path):
        self.directory = directory

    def __repr__(self) -> str:
        return f"Bucket({str(self.directory)!r})"

    def put(self, data: bytes, *, sensitive: bool) -> str:
        """Store `data` and return its sha256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        mode = SENSITIVE_MODE if sensitive else PLAIN_MODE
        state = files.read_state(path)
        if state is None:
            self._ensure_directory(self.directory)
            self._ensure_directory(path.parent)
            files.write_atomic(path, data, mode=mode)
        elif state.mode & ~mode:
            files.set_mode(path, state.mode & mode)
        return digest

    def get(self, digest: str) -> bytes:
        """The content stored under `digest`; HostError when there is none."""
        path = self._path(digest)
        if not self.has(digest):
            raise HostError(f"no backup with this digest in {self.directory}", subject=digest)
        return files.read_bytes(path)

    def has(self, digest: str) -> bool:
        return files.read_state(self._path(digest)) is not None

    def _path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise HostError("not a sha256 hex digest", subject=digest)
        return self.directory / digest[:2] / digest

    @staticmethod
    def _ensure_directory(path: Path) -> None:
        """mkdir -p `path`, then make sure it is 0700 or tighter (missing parents get the default mode)."""
        try:
            os.makedirs(path, DIRECTORY_MODE, exist_ok=True)
            st = os.lstat(path)
        except OSError as exc:
            raise host_error("create directory", path, exc) from exc
        if stat.S_IMODE(st.st_mode) & ~DIRECTORY_MODE:
            files.set_mode(path, DIRECTORY_MODE)
