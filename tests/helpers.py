"""Small helpers the test packages share: writing a tree of files, the usual two-level hierarchy."""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: Per node
    path: nodes/%{facts.hostname}.yaml
  - name: Common
    path: common.yaml
"""


def write_tree(base: Path, files: Mapping[str, str | bytes]) -> None:
    """Write `files` (relative path → text, dedented, or bytes) under `base`, creating folders."""
    for relative, content in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))


@contextlib.contextmanager
def one_at_a_time(name: str) -> Iterator[None]:
    """Hold a lock that every test worker shares (a flock on a file named after `name` in the temp folder):
    for tests on something the host has only one of, its dpkg database or a booted container."""
    with open(Path(tempfile.gettempdir()) / f"tend-tests-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
