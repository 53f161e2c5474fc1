"""Small helpers the test packages share: writing a tree of files, the usual two-level hierarchy."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
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
