"""The filebucket: content-addressed backups of the files tend replaces, stored by sha256, every one 0600.

One mode for every copy: a file that no longer holds a secret was replaced by content that once did, so
whether a copy is sensitive cannot be told when it is stored; root alone reads any of them.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from agent.errors import HostError
from agent.system import files
from agent.system._oserror import host_error
from agent.system.batch import Batch
from agent.system.files import FileKind
from agent.system.paths import Walker

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


class Bucket:
    """Backups at `<directory>/<sha256[:2]>/<sha256>`; directories are created 0700 on the first put.

    Storing the same content twice stores it once, and tightens a copy an older tend left 0640. Below
    `directory` (itself refused when it is a link) nothing is followed: every read, write and mkdir
    walks from it with O_NOFOLLOW.
    """

    __slots__ = ("_walker", "directory")

    def __init__(self, directory: Path):
        self.directory = directory
        self._walker = Walker(directory)

    def __repr__(self) -> str:
        return f"Bucket({str(self.directory)!r})"

    def put(self, data: bytes, batch: Batch | None = None) -> str:
        """Store `data` (0600) and return its sha256 hex digest: at once and durably, or with `batch`, at its
        flush, durably before any write of the batch is renamed."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        mode = FILE_MODE
        state = files.read_state(path, walker=self._walker)
        if state is None:
            self._ensure_base()
            files.ensure_directory(path.parent, DIRECTORY_MODE, walker=self._walker)
            if batch is None:
                files.write_atomic(path, data, mode=mode, walker=self._walker)
            else:
                batch.back_up(path, data, mode=mode, walker=self._walker)
        elif state.kind is not FileKind.FILE:
            raise HostError(f"cannot back up: a {state.kind} is in the way in the bucket", subject=str(path))
        elif state.mode & ~mode:
            files.set_mode(path, state.mode & mode, walker=self._walker)
        return digest

    def get(self, digest: str) -> bytes:
        """The content stored under `digest`; HostError when there is none."""
        path = self._path(digest)
        if not self.has(digest):
            raise HostError(f"no backup with this digest in {self.directory}", subject=digest)
        return files.read_bytes(path, walker=self._walker)

    def has(self, digest: str) -> bool:
        return files.read_state(self._path(digest), walker=self._walker) is not None

    def _path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise HostError("not a sha256 hex digest", subject=digest)
        return self.directory / digest[:2] / digest

    def _ensure_base(self) -> None:
        """mkdir -p the bucket (a new state directory above it is 0700 too), then make sure it is a 0700 directory."""
        path = self.directory
        try:
            os.makedirs(path.parent, DIRECTORY_MODE, exist_ok=True)
            os.mkdir(path, DIRECTORY_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise host_error("create directory", path, exc) from exc
        state = files.read_state(path)
        if state is None or state.kind is not FileKind.DIRECTORY:
            found = f"a {state.kind}" if state else "nothing"
            raise HostError(f"the bucket must be a directory, {found} is there", subject=str(path))
        if state.mode & ~DIRECTORY_MODE:
            files.set_mode(path, DIRECTORY_MODE)
