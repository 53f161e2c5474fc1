"""The `file` type: regular files, directories, links and absence; atomic writes, validation, backups."""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from agent.errors import HostError
from agent.resources import file_tree
from agent.resources.base import Attr, Change, Resource
from agent.secrets.secret import Secret
from agent.system import FileKind, FileState, Host

_MODE = re.compile(r"^0?[0-7]{3,4}$")
_CHECKSUM = re.compile(r"^sha256:[0-9a-f]{64}$")
URL_SCHEMES = ("https://", "http://")
DEFAULT_MODE = "0644"
SENSITIVE_MODE = "0600"
DIRECTORY_MODE = "0755"


def content_bytes(content: str | bytes | Secret) -> bytes:
    if isinstance(content, Secret):
        return content.reveal().encode()
    if isinstance(content, bytes):
        return content
    return str(content).encode()


def digest(data: bytes) -> str:
    return "{sha256}" + hashlib.sha256(data).hexdigest()


def is_url(source: str | None) -> bool:
    return source is not None and source.startswith(URL_SCHEMES)


def _check_checksum(value: str) -> str | None:
    return None if _CHECKSUM.match(value) else f"checksum {value!r} must be sha256:<64 lowercase hex digits>"


class File(Resource[None]):
    type_name: ClassVar[str] = "file"
    batched: ClassVar[bool] = True
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    attributes: ClassVar[dict[str, Attr]] = {
        "path": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), choices=("file", "directory", "link", "absent", "present")),
        "content": Attr((str, bytes), sensitive=True),
        "template": Attr((str,), secret_ok=False),
        "source": Attr((str,), secret_ok=False),
        "owner": Attr((str, int), secret_ok=False),
        "group": Attr((str, int), secret_ok=False),
        "mode": Attr((str,), secret_ok=False),
        "target": Attr((str,), secret_ok=False),
        "validate": Attr((str, list), secret_ok=False),
        "backup": Attr((bool,), default=True),
        "checksum": Attr((str,), secret_ok=False, check=_check_checksum),
        "replace": Attr((bool,), default=True),
        "force": Attr((bool,), default=False),
        "purge": Attr((bool,), default=False),
        "ignore": Attr((str, list), secret_ok=False),
    }
    # What a purge keeps: every path under it that the catalog owns, True for a directory to look inside
    # (set by the compiler, agent/catalog/ownership.py).
    keep: Mapping[str, bool] = MappingProxyType({})

    @property
    def path(self) -> str:
        return self.values.get("path") or self.title

    @property
    def ensure(self) -> str:
        ensure: str | None = self.values.get("ensure")
        if ensure is None or ensure == "present":
            return "link" if self.values.get("target") else "file"
        return ensure

    def validate(self) -> None:
        for name in ("owner", "group"):  # "1000" is the id 1000, as chown reads it
            value = self.values.get(name)
            if isinstance(value, str) and value.isdigit():
                self.values[name] = int(value)
        path = self.path
        if not path.startswith("/") or path != posixpath.normpath(path) or path == "/":
            raise self.fail(f"the path {path!r} must be absolute and normal (no '..', '//' or trailing '/')", "path")
        mode = self.values.get("mode")
        if mode is not None and not _MODE.match(mode):
            raise self.fail(f'mode {mode!r} must be octal digits like "0644" (quote it in YAML)', "mode")
        has_content = [a for a in ("content", "template", "source") if self.values.get(a) is not None]
        if len(has_content) > 1:
            raise self.fail(f"give one of content, template, source (not {' and '.join(has_content)})")
        tree = has_content == ["source"] and self.ensure == "directory" and not self.url
        if has_content and self.ensure != "file" and not tree:
            raise self.fail(f"'{has_content[0]}' needs ensure: file, not {self.ensure}")
        self._validate_sources_and_purge()
        if (self.ensure == "link") != (self.values.get("target") is not None):
            raise self.fail("ensure: link and target go together")
        if self.values.get("validate") and "{path}" not in str(self.values["validate"]):
            raise self.fail("validate must name the file to check as {path}, like: nginx -t -c {path}", "validate")

    def _validate_sources_and_purge(self) -> None:
        """URL sources and their checksum, purge and ignore."""
        if self.url and self.values.get("checksum") is None:
            raise self.fail("a URL source needs checksum: sha256:<hex> (the checksum is what is trusted)", "source")
        if self.values.get("checksum") is not None and not self.url:
            raise self.fail("checksum goes with a URL source (https://… or http://…)", "checksum")
        ignore = self.values.get("ignore")
        if isinstance(ignore, str):
            ignore = self.values["ignore"] = [ignore]
        if ignore is not None and not all(isinstance(glob, str) for glob in ignore):
            raise self.fail("ignore must be a list of glob patterns", "ignore")
        for name in ("purge", "ignore"):
            if self.values.get(name) and self.ensure != "directory":
                raise self.fail(f"{name} needs ensure: directory, not {self.ensure}", name)
        if ignore and not self.values["purge"]:
            raise self.fail("ignore says what a purge keeps: it needs purge: true", "ignore")

    @property
    def url(self) -> str | None:
        source = self.values.get("source")
        return source if is_url(source) else None

    def owns_content(self) -> bool:
        """Whether this resource decides all that is at its path, so that a partial edit of it would fight it."""
        return self.ensure != "file" or (self._digest() is not None and self.values.get("replace", True))

    def owned_paths(self) -> list[str]:
        return [self.path]

    def temp_dirs(self) -> list[str]:
        return [posixpath.dirname(self.path)]

    def warnings(self) -> list[str]:
        mode = self.values.get("mode")
        if self.sensitive and mode is not None and int(mode, 8) & 0o077:
            return [f"{self.where('mode')}: {self.id}: holds a secret but mode {mode} lets others read it"]
        return []

    def implicit_requires(self) -> list[str]:
        parent = posixpath.dirname(self.path)
        refs = [f"file:{parent}"] if parent != "/" else []
        refs += [f"user:{self.values['owner']}"] if isinstance(self.values.get("owner"), str) else []
        refs += [f"group:{self.values['group']}"] if isinstance(self.values.get("group"), str) else []
        return refs

    def _mode(self) -> str | None:
        mode: str | None = self.values.get("mode")
        if mode is not None:
            return mode.zfill(4)
        if self.ensure == "file" and self.sensitive:
            return SENSITIVE_MODE
        return None

    def _digest(self) -> str | None:
        """The digest of the content wanted: of `content`, or the checksum of a URL source; None: not managed."""
        content = self.values.get("content")
        if content is not None:
            return digest(content_bytes(content))
        return "{sha256}" + self.values["checksum"].removeprefix("sha256:") if self.url else None

    def desired(self) -> dict[str, Any]:
        ensure = self.ensure
        if ensure == "absent":
            return {"ensure": "absent"}
        return {
            "ensure": ensure,
            "content": self._digest() if ensure == "file" else None,
            "target": self.values.get("target") if ensure == "link" else None,
            "mode": self._mode() if ensure != "link" else None,
            "owner": _name(self.values.get("owner")),
            "group": _name(self.values.get("group")),
        }

    def current(self, system: Host, provider: None) -> dict[str, Any]:
        state = system.read_state(system.resolve(self.path))
        if state is None:
            return {"ensure": "absent"}
        owner, group = self.values.get("owner"), self.values.get("group")
        current: dict[str, Any] = {
            "ensure": str(state.kind),
            "mode": f"{state.mode:04o}",
            # Names are looked up only for what is managed (the lookups are the costly part of a check).
            "owner": None if owner is None else _shown(owner, state.uid, system.user_name),
            "group": None if group is None else _shown(group, state.gid, system.group_name),
        }
        # replace: false leaves the content of a file that is there alone.
        if state.kind is FileKind.FILE and self._digest() is not None and self.values.get("replace", True):
            current["content"] = "{sha256}" + system.file_digest(system.resolve(self.path))
        if state.kind is FileKind.LINK:
            current["target"] = state.target
        return current

    def fix(self, system: Host, provider: None, changes: list[Change]) -> None:
        path = system.resolve(self.path)
        names = {c.property for c in changes}
        ensure = self.ensure
        state = system.read_state(path)
        replacing = state is not None and "ensure" in names and (ensure != "file" or state.kind is FileKind.DIRECTORY)
        if ensure == "absent" or replacing:
            self._remove(system, path, state)
            state = None
            if ensure == "absent":
                return
        uid, gid = self._ids(system)
        if ensure == "directory" and (state is None or "ensure" in names):
            system.ensure_directory(path, int(self._mode() or DIRECTORY_MODE, 8), uid, gid)
        elif ensure == "link" and (state is None or names & {"ensure", "target"}):
            system.symlink_atomic(self.values["target"], path)
            if uid is not None or gid is not None:
                system.set_owner(path, uid, gid)
        elif ensure == "file" and (state is None or names & {"ensure", "content"}):
            self._write(system, path, state, uid, gid)
        else:
            mode = self._mode()
            if "mode" in names and mode is not None:
                system.set_mode(path, int(mode, 8))
            if names & {"owner", "group"}:
                system.set_owner(path, uid, gid)

    def _write(self, system: Host, path: Path, state: FileState | None, uid: int | None, gid: int | None) -> None:
        if not path.parent.is_dir():
            raise HostError(
                f"the parent directory {posixpath.dirname(self.path)} does not exist "
                "(declare it with ensure: directory)",
                subject=self.path,
            )
        data = self._data(system)
        if state is not None and state.kind is FileKind.FILE:
            self._backup(system, path)
            # An unmanaged owner, group or mode stays what it was on the file being replaced.
            uid = state.uid if uid is None else uid
            gid = state.gid if gid is None else gid
        # Only a file passes its mode on: a link's own is 0777, and would make the new file writable by all.
        kept = state if state is not None and state.kind is FileKind.FILE else None
        mode = self._mode() or (f"{kept.mode:04o}" if kept is not None else DEFAULT_MODE)
        system.write_atomic(path, data, mode=int(mode, 8), uid=uid, gid=gid, validate=self._validator(system))

    def _data(self, system: Host) -> bytes:
        content = self.values.get("content")
        if content is not None:
            return content_bytes(content)
        if self.url is None:
            return b""
        try:
            return system.fetch(self.url, self.values["checksum"].removeprefix("sha256:"))
        except HostError as error:
            raise HostError(error.message, location=self.where("source")) from None

    def _validator(self, system: Host) -> Callable[[Path], None] | None:
        command = self.values.get("validate")
        if not command:
            return None
        argv = command if isinstance(command, list) else shlex.split(command)

        inside = not system.root.is_host
        if inside and _in_root(system, str(argv[0])) is None:
            raise HostError(
                f"validate: {argv[0]} is not in the root {system.root.path} (it runs chrooted there)",
                subject=self.path,
            )

        def check(temp: Path) -> None:
            # Chrooted, the command sees the temp file at its path inside the root.
            shown = "/" + str(temp.relative_to(system.root.path)) if inside else str(temp)
            result = system.run([str(a).replace("{path}", shown) for a in argv], in_root=inside)
            if not result.ok:
                detail = "output withheld (sensitive)" if self.sensitive else result.failure()
                raise HostError(f"validate refused the new content: {detail}", subject=self.path)

        return check

    def _backup(self, system: Host, path: Path) -> None:
        if self.values.get("backup", True):
            system.backup(system.read_bytes(path))

    def _remove(self, system: Host, path: Path, state: FileState | None) -> None:
        if state is None:
            return
        if state.kind is FileKind.DIRECTORY:
            self._may_remove_directory(system, path)
            file_tree.remove_tree(system, path, sensitive=self.sensitive)
            return
        if state.kind is FileKind.FILE:
            self._backup(system, path)
        system.remove(path)

    def _may_remove_directory(self, system: Host, path: Path) -> None:
        """Without force, only an empty directory that is to be absent goes."""
        if self.values.get("force"):
            return
        if self.ensure != "absent":
            problem = f"a directory is in the way of {self.ensure} {self.path}"
        elif system.list_directory(path):
            problem = f"{self.path} is a directory that is not empty"
        else:
            return
        raise HostError(
            f"{problem}: give force: true to remove it with its content (kept in the bucket)",
            location=self.where("ensure"),
        )

    def strays(self, system: Host) -> list[str]:
        if not self.values.get("purge") or self.ensure != "directory":
            return []
        return file_tree.strays(system, self.path, self.keep, self.values.get("ignore") or [])

    def purge(self, system: Host, path: str) -> None:
        file_tree.remove_tree(system, system.resolve(path), sensitive=self.sensitive)

    def _ids(self, system: Host) -> tuple[int | None, int | None]:
        owner, group = self.values.get("owner"), self.values.get("group")
        uid = None if owner is None else (owner if isinstance(owner, int) else system.uid_of(owner))
        gid = None if group is None else (group if isinstance(group, int) else system.gid_of(group))
        return uid, gid

    @property
    def identity(self) -> str:
        return f"file:{self.path}"

    def diff_text(self, system: Host) -> str | None:
        """A unified diff of the content for `tend plan`; never for sensitive files."""
        content = self.values.get("content")
        path = system.resolve(self.path)
        state = system.read_state(path)
        if self.url is not None:
            same = (
                state is not None
                and state.kind is FileKind.FILE
                and self._digest() == "{sha256}" + system.file_digest(path)
            )
            return None if same else f"content from {self.url} ({self.values['checksum']})\n"
        if self.sensitive or content is None or self.ensure != "file":
            return None
        if state is not None and state.kind is FileKind.FILE and not self.values.get("replace", True):
            return None
        old = system.read_bytes(path) if state is not None and state.kind is FileKind.FILE else b""
        new = content_bytes(content)
        if old == new:
            return None
        if b"\0" in old or b"\0" in new:
            return "binary content differs\n"
        lines = difflib.unified_diff(
            old.decode(errors="replace").splitlines(keepends=True),
            new.decode(errors="replace").splitlines(keepends=True),
            fromfile=f"{self.path} (current)",
            tofile=f"{self.path} (desired)",
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _in_root(system: Host, command: str) -> str | None:
    """Where the root has `command` (a path, or a name looked up on the usual PATH), or None."""
    folders = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
    for candidate in [command] if "/" in command else [f"{d}/{command}" for d in folders]:
        try:
            state = system.read_state(system.resolve(candidate, follow=True))
        except HostError:
            continue
        if state is not None and state.kind is FileKind.FILE and state.mode & 0o111:
            return candidate
    return None


def _name(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def _shown(wanted: int | str, number: int, name_of: Callable[[int], str | None]) -> str:
    """The current owner in the form the manifest gives it: a number when it gives one, else a name."""
    return str(number) if isinstance(wanted, int) else (name_of(number) or str(number))
