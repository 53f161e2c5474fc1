"""Whether a data path, once its symlinks are followed, still lies inside the repository."""

from __future__ import annotations

from pathlib import Path


def inside_repository(path: Path, root: Path) -> bool:
    """True when `path` (after symlinks, `..` resolved) is `root` or lies under it."""
    return path.resolve().is_relative_to(root.resolve())
