"""The `sysctld` provider: kernel settings persisted one per file in /etc/sysctl.d and set live through /proc/sys.

Each key gets `/etc/sysctl.d/99-tend-<key>.conf`, read at boot after the distribution's files and
after `99-sysctl.conf` (Debian's link to /etc/sysctl.conf), so tend's value wins. Under `--root`
only the file is written: the live kernel is this host's, not the root's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import HostError
from agent.providers.options import Note, ProviderOptions
from agent.system import Host

DIRECTORY = "/etc/sysctl.d"
PROC = Path("/proc/sys")


def persisted_path(key: str) -> str:
    return f"{DIRECTORY}/99-tend-{key}.conf"


def normalized(value: str) -> str:
    """A value as sysctl compares it: fields separated by one space (the kernel prints tabs)."""
    return " ".join(value.split())


def parse_conf(text: str, key: str) -> str | None:
    """The value a sysctl.d file gives `key` (the last one wins; `a/b` is `a.b`), None when it gives none."""
    found = None
    for line in text.splitlines():
        line = line.strip().lstrip("-")
        if not line or line[0] in "#;" or "=" not in line:
            continue
        name, value = line.split("=", 1)
        if name.strip().replace("/", ".") == key:
            found = normalized(value)
    return found


class SysctlD:
    """Kernel settings: one file each under /etc/sysctl.d, and the live value in /proc/sys on this host."""

    name = "sysctld"

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        if system.root.is_host and system.read_state(PROC) is None:
            return f"{PROC} does not exist (not Linux)"
        return None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system
        self.note = note
        self._noted: set[str] = set()

    def persisted(self, key: str) -> str | None:
        """The value in the key's file; None when there is no file, '' when the file does not set the key."""
        path = self.system.resolve(persisted_path(key))
        if self.system.read_state(path) is None:
            return None
        return parse_conf(self.system.read_bytes(path).decode(errors="replace"), key) or ""

    def persist(self, key: str, value: str) -> None:
        """Write the key's file atomically (its old content to the bucket), making /etc/sysctl.d if needed."""
        for folder in ("/etc", DIRECTORY):
            directory = self.system.resolve(folder)
            if self.system.read_state(directory) is None:
                self.system.ensure_directory(directory, 0o755)
        path = self.system.resolve(persisted_path(key))
        self._backup(path)
        text = f"# Managed by tend (sysctl:{key}): changes here are overwritten.\n{key} = {value}\n"
        self.system.write_atomic(path, text.encode(), mode=0o644)

    def unpersist(self, key: str) -> None:
        """Remove the key's file (its content to the bucket); the live value stays as it is."""
        path = self.system.resolve(persisted_path(key))
        if self._backup(path):
            self.system.remove(path)

    def live(self, key: str, wanted: str) -> str | None:
        """The live value, or None when it is not managed here: under --root, or where /proc/sys is
        read-only (a container), which is noted once per key when the value differs from `wanted`."""
        if not self.system.root.is_host:
            return None
        path = PROC / key.replace(".", "/")
        if self.system.read_state(path) is None:
            raise HostError(f"the kernel has no setting {key} ({path} does not exist)")
        value = normalized(self.system.read_bytes(path).decode(errors="replace"))
        if value != wanted and self.system.read_only(path):
            if key not in self._noted:
                self._noted.add(key)
                self.note(f"sysctl:{key}: {PROC} is read-only here (a container?): {key} is persisted, not set live")
            return None
        return value

    def set_live(self, key: str, value: str) -> None:
        self.system.write_in_place(PROC / key.replace(".", "/"), f"{value}\n".encode())

    def _backup(self, path: Path) -> bool:
        """Put the file at `path` in the bucket; False when there is none."""
        if self.system.read_state(path) is None:
            return False
        self.system.backup(self.system.read_bytes(path))
        return True
