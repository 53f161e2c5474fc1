"""apt sources as files: a deb822 `/etc/apt/sources.list.d/<name>.sources` and its own keyring
`/etc/apt/keyrings/<name>.asc`, written atomically with their old content to the bucket.

apt opens a `Signed-By:` keyring by the path written in the file, whatever its `Dir` option says;
tend runs apt on the host with `-o Dir=DIR` under `--root DIR`, so there the path it writes is the
keyring's path on the host (inside DIR), which is where apt looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.system import Host

SOURCES_DIR = "/etc/apt/sources.list.d"
KEYRINGS_DIR = "/etc/apt/keyrings"


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What one source says: each field a list of words (components and architectures may be empty)."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceFiles:
    """The two files of a source as they are on the host (None: missing)."""

    sources: str | None
    key: str | None


def sources_path(name: str) -> str:
    return f"{SOURCES_DIR}/{name}.sources"


def keyring_path(name: str) -> str:
    return f"{KEYRINGS_DIR}/{name}.asc"


def render(name: str, spec: SourceSpec, signed_by: str) -> str:
    """The deb822 text of a source, its keyring named by `signed_by`."""
    fields: Sequence[tuple[str, tuple[str, ...]]] = (
        ("Types", spec.types), ("URIs", spec.uris), ("Suites", spec.suites),
        ("Components", spec.components), ("Architectures", spec.architectures),
    )  # fmt: skip
    lines = [f"# Managed by tend (apt_source:{name}): changes here are overwritten."]
    lines += [f"{field}: {' '.join(words)}" for field, words in fields if words]
    lines.append(f"Signed-By: {signed_by}")
    return "\n".join(lines) + "\n"


def signed_by(system: Host, name: str) -> str:
    """The keyring's path as apt will open it: on the host, or inside the root under --root."""
    managed = keyring_path(name)
    return managed if system.root.is_host else str(system.resolve(managed))


def read(system: Host, name: str) -> SourceFiles:
    return SourceFiles(_text(system, sources_path(name)), _text(system, keyring_path(name)))


def write(system: Host, name: str, files: SourceFiles) -> None:
    """Write the keyring, then the source that names it (folders made as needed), each only when it differs."""
    for folder in ("/etc", "/etc/apt", SOURCES_DIR, KEYRINGS_DIR):
        path = system.resolve(folder)
        if system.read_state(path) is None:
            system.ensure_directory(path, 0o755)
    have = read(system, name)
    pairs = ((keyring_path(name), files.key, have.key), (sources_path(name), files.sources, have.sources))
    for managed, text, old in pairs:
        if text is not None and text != old:
            path = system.resolve(managed)
            _backup(system, path)
            system.write_atomic(path, text.encode(), mode=0o644)


def remove(system: Host, name: str) -> None:
    """Remove the source first (apt must never name a missing keyring), then its keyring; old content to the bucket."""
    for managed in (sources_path(name), keyring_path(name)):
        path = system.resolve(managed)
        if _backup(system, path):
            system.remove(path)


def _text(system: Host, managed: str) -> str | None:
    path = system.resolve(managed)
    if system.read_state(path) is None:
        return None
    return system.read_bytes(path).decode(errors="replace")


def _backup(system: Host, path: Path) -> bool:
    if system.read_state(path) is None:
        return False
    system.backup(system.read_bytes(path))
    return True
