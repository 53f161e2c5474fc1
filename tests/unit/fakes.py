"""Fakes for unit tests that never touch the host: an in-memory resource type, and a `FakeSystem` in pyinfra's
style (canned command output goes in, the command lines run come out; files live in a dict)."""

from __future__ import annotations

import fnmatch
import hashlib
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from agent.errors import HostError
from agent.location import Location
from agent.resources.base import Attr, Change, Resource
from agent.system import CommandResult, FileKind, FileState, Root
from agent.system.accounts import Group, User, parse_group, parse_passwd


class Memory(dict[str, str]):
    """Stands in for the host: each fake resource's value lives here."""

    def __init__(self) -> None:
        super().__init__()
        self.refreshed: list[str] = []
        self.failing: set[str] = set()

    def changed(self) -> None:
        """As System.changed: the runner says when the host changed."""

    def sync(self) -> None:
        """As System.sync: the runner makes changes durable before it records them."""

    def acting_for(self, owner: str | None) -> None:
        """As System.acting_for: nothing is batched in memory."""

    def failed_writes(self) -> dict[str | None, Any]:
        return {}

    def trust(self, *, paths: Any = (), users: Any = ()) -> None:
        """As System.trust: the runner names the catalog's files and users before it applies anything."""


class Fake(Resource[None]):
    type_name: ClassVar[str] = "fake"
    refreshable: ClassVar[bool] = True
    attributes: ClassVar[dict[str, Attr]] = {"value": Attr((str,), managed=True)}

    def current(self, system: Any, provider: None) -> dict[str, Any]:
        return {"value": system.get(self.title)}

    def fix(self, system: Any, provider: None, changes: list[Change]) -> None:
        if self.title in system.failing:
            raise HostError("cannot", subject=self.title)
        system[self.title] = self.values["value"]

    def refresh(self, system: Any, provider: None) -> None:
        if self.title in system.failing:
            raise HostError("refresh failed", subject=self.title)
        system.refreshed.append(self.title)


def fake(title: str, value: str = "v", line: int = 1) -> Fake:
    return Fake(title=title, values={"value": value}, location=Location("manifests/t.yaml", line))


@dataclass(frozen=True, slots=True)
class Canned:
    """Output for the commands whose words match `pattern` (shell-style globs per word, in order, anywhere)."""

    pattern: tuple[str, ...]
    stdout: bytes
    stderr: bytes
    returncode: int

    def matches(self, argv: Sequence[str]) -> bool:
        words = iter(argv)
        return all(any(fnmatch.fnmatchcase(word, want) for word in words) for want in self.pattern)


class FakeSystem:
    """The host seam (agent.system.Host) in memory.

    `on("systemctl is-active nginx.service", stdout="active\\n")` cans the output of every command whose
    argv holds those words in that order (the last matching `on` wins; an unmatched command succeeds
    silently). `ran` lists each command run as one shell-quoted line; `lines(tool)` those of one tool.
    `files` maps host paths to content; their folders exist. `read_only` lists read-only mounts.
    """

    def __init__(
        self,
        root: str = "/",
        *,
        files: Mapping[str, str | bytes] | None = None,
        commands: Sequence[str] | None = None,
        read_only: Sequence[str] = (),
    ):
        self.root = Root(Path(root))
        self.files: dict[Path, bytes] = {}
        self.modes: dict[Path, int] = {}
        self.directories: set[Path] = {Path("/")}
        self.commands = None if commands is None else set(commands)
        self.read_only_mounts = [Path(p) for p in read_only]
        self.canned: list[Canned] = []
        self.ran: list[str] = []
        self.stdin: list[bytes | None] = []
        self.backups: list[bytes] = []
        self.urls: dict[str, bytes] = {}  # what fetch() serves
        for path, content in (files or {}).items():
            self.put(path, content)

    def put(self, path: str, content: str | bytes, mode: int = 0o644) -> None:
        host = Path(path)
        self.files[host] = content.encode() if isinstance(content, str) else content
        self.modes[host] = mode
        self.directories.update(host.parents)

    def on(self, words: str, stdout: str = "", stderr: str = "", returncode: int = 0) -> None:
        self.canned.append(Canned(tuple(shlex.split(words)), stdout.encode(), stderr.encode(), returncode))

    def lines(self, tool: str) -> list[str]:
        return [line for line in self.ran if line.split(" ", 1)[0] == tool]

    def text(self, path: str) -> str:
        return self.files[Path(path)].decode()

    def resolve(self, managed: str, *, follow: bool = False) -> Path:
        return self.root.path / managed.lstrip("/")

    def changed(self) -> None:
        pass

    def trust(self, *, paths: Any = (), users: Any = ()) -> None:
        self.trusted = (list(paths), list(users))

    def sync(self) -> None:
        pass

    def acting_for(self, owner: str | None) -> None:
        pass

    def failed_writes(self) -> dict[str | None, Any]:
        return {}

    def run(self, argv: Sequence[str], *, input: bytes | None = None, **options: Any) -> CommandResult:
        self.ran.append(shlex.join(argv))
        self.stdin.append(input)
        found = next((c for c in reversed(self.canned) if c.matches(argv)), None)
        if found is None:
            return CommandResult(tuple(argv), 0, b"", b"", 0.0)
        return CommandResult(tuple(argv), found.returncode, found.stdout, found.stderr, 0.0)

    def has_command(self, name: str) -> bool:
        return self.commands is None or name in self.commands

    def process_alive(self, pid: int) -> bool:
        return False

    def processes_matching(self, pattern: re.Pattern[str]) -> list[int]:
        return []

    def terminate(self, pids: list[int], timeout: float) -> list[int]:
        return []

    def backup(self, data: bytes) -> str | None:
        self.backups.append(data)
        return str(len(self.backups))

    def users(self) -> list[User]:
        return parse_passwd(self._text_of("/etc/passwd"))

    def groups(self) -> list[Group]:
        return parse_group(self._text_of("/etc/group"))

    def uid_of(self, name: str) -> int:
        return next(u.uid for u in self.users() if u.name == name)

    def gid_of(self, name: str) -> int:
        return next(g.gid for g in self.groups() if g.name == name)

    def user_name(self, uid: int) -> str | None:
        return next((u.name for u in self.users() if u.uid == uid), None)

    def group_name(self, gid: int) -> str | None:
        return next((g.name for g in self.groups() if g.gid == gid), None)

    def write_atomic(
        self,
        path: Path,
        data: bytes,
        *,
        mode: int,
        uid: int | None = None,
        gid: int | None = None,
        validate: Callable[[Path], None] | None = None,
    ) -> None:
        if path.parent not in self.directories:
            raise HostError("cannot write: no such file or directory", subject=str(path))
        self.put(str(path), data, mode)

    def write_in_place(self, path: Path, data: bytes) -> None:
        if path not in self.files:
            raise HostError("cannot write: no such file or directory", subject=str(path))
        if self.read_only(path):
            raise HostError("cannot write: read-only file system", subject=str(path))
        self.files[path] = data

    def read_only(self, path: Path) -> bool:
        return any(path == mount or mount in path.parents for mount in self.read_only_mounts)

    def symlink_atomic(self, target: str, path: Path) -> None:
        raise NotImplementedError("FakeSystem keeps no links")

    def read_state(self, path: Path) -> FileState | None:
        if path in self.files:
            return FileState(FileKind.FILE, self.modes[path], 0, 0, len(self.files[path]))
        if path in self.directories:
            return FileState(FileKind.DIRECTORY, 0o755, 0, 0, 0)
        return None

    def read_bytes(self, path: Path) -> bytes:
        if path not in self.files:
            raise HostError("cannot read: no such file or directory", subject=str(path))
        return self.files[path]

    def entries(self, path: Path) -> list[str]:
        return sorted({p.name for p in [*self.files, *self.directories] if p.parent == path and p != path})

    def file_digest(self, path: Path) -> str:
        return hashlib.sha256(self.read_bytes(path)).hexdigest()

    def ensure_directory(self, path: Path, mode: int, uid: int | None = None, gid: int | None = None) -> None:
        if path.parent not in self.directories:
            raise HostError("cannot create directory: no such file or directory", subject=str(path))
        self.directories.add(path)

    def remove(self, path: Path, *, recursive: bool = False) -> bool:
        if path in self.directories:
            inside = [p for p in [*self.files, *self.directories] if path in p.parents]
            if inside and not recursive:
                raise HostError("cannot remove: directory not empty (needs recursive)", subject=str(path))
            for gone in [path, *inside]:
                self.files.pop(gone, None)
                self.directories.discard(gone)
            return True
        return self.files.pop(path, None) is not None

    def set_mode(self, path: Path, mode: int) -> None:
        self.modes[path] = mode

    def set_owner(self, path: Path, uid: int | None, gid: int | None) -> None:
        pass

    def cleanup_stale_temps(self, directory: Path) -> list[Path]:
        return []

    def list_directory(self, path: Path) -> list[str]:
        inside = [p for p in [*self.files, *self.directories] if path in p.parents]
        return sorted({p.relative_to(path).parts[0] for p in inside})

    def fetch(self, url: str, sha256: str) -> bytes:
        data = self.urls[url]
        if hashlib.sha256(data).hexdigest() != sha256:
            raise HostError("checksum mismatch", subject=url)
        return data

    def _text_of(self, managed: str) -> str:
        path = self.resolve(managed)
        return self.files[path].decode() if path in self.files else ""


def declare(cls: type[Resource[Any]], title: str, line: int = 4, **values: Any) -> Any:
    """A resource as the compiler leaves it: attributes checked and validated, at manifests/site.yaml:`line`."""
    resource = cls(title=title, values=values, location=Location("manifests/site.yaml", line))
    resource.check_attributes()
    resource.validate()
    return resource


def converge(resource: Resource[Any], system: FakeSystem, provider: Any) -> list[tuple[str, Any, Any]]:
    """What the runner does with one resource outside noop: its changes (property, from, to), fixed."""
    changes = resource.changes(resource.desired(), resource.current(system, provider))
    if changes:
        resource.fix(system, provider, changes)
    return [(c.property, c.old, c.new) for c in changes]
