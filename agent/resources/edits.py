"""What the partial edits (line, block, ini) share: a text that keeps its line endings, and the file machinery."""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from agent.errors import HostError, TendError
from agent.providers.edit_buffer import Target
from agent.resources.base import Attr, Change, Resource
from agent.secrets.secret import Secret
from agent.system import Host

_MODE = re.compile(r"^0?[0-7]{3,4}$")
NEW_MODE = 0o644
SENSITIVE_MODE = 0o600
OTHERS_READ = 0o044


class EditProvider(Protocol):
    """What edits ask of their provider (agent/providers/edit_buffer.py): a path's content as the edits
    before this one in the run leave it (so `plan` chains them), else as it is on disk."""

    def read(self, path: str) -> Target: ...
    def stage(self, path: str, before: Target, after: Target) -> None: ...
    def unstage(self, path: str) -> None: ...


def plain(value: Any) -> str:
    """A value as the text that goes into the file (a secret revealed: only at the moment of the edit)."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_regex(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as error:
        return f"{value!r} is not a regular expression: {error}"
    return None


def has_break(value: str | Secret) -> bool:
    text = plain(value)
    return "\n" in text or "\r" in text


def one_line(name: str) -> Callable[[Any], str | None]:
    """The check of an attribute that must be one line."""
    return lambda value: f"'{name}' must be one line (no line breaks)" if has_break(value) else None


class Text:
    """A text file as lines, each keeping its own ending; new lines take the file's first ending, and a file
    without a final line ending keeps it that way. Bytes that are not UTF-8 pass through unchanged."""

    __slots__ = ("endings", "final", "lines", "newline")

    def __init__(self, data: bytes):
        text = data.decode("utf-8", "surrogateescape")
        parts = text.split("\n")
        self.final = parts[-1] == ""
        if self.final:
            parts.pop()
        self.lines: list[str] = []
        self.endings: list[str] = []
        for index, part in enumerate(parts):
            crlf = part.endswith("\r") and (index < len(parts) - 1 or self.final)
            self.lines.append(part[:-1] if crlf else part)
            self.endings.append("\r\n" if crlf else "\n")
        self.newline = self.endings[0] if self.endings else "\n"
        if not self.final and self.endings:
            self.endings[-1] = self.newline  # written back only if another line comes after it

    def render(self) -> bytes:
        text = "".join(line + ending for line, ending in zip(self.lines, self.endings, strict=True))
        if not self.final and self.endings:
            text = text[: -len(self.endings[-1])]
        return text.encode("utf-8", "surrogateescape")

    def insert(self, index: int, lines: list[str]) -> None:
        self.lines[index:index] = lines
        self.endings[index:index] = [self.newline] * len(lines)

    def replace(self, start: int, end: int, lines: list[str]) -> None:
        """Lines [start, end) become `lines`; a line replaced one for one keeps its ending."""
        kept = self.endings[start:end]
        self.lines[start:end] = lines
        self.endings[start:end] = [kept[i] if i < len(kept) else self.newline for i in range(len(lines))]

    def delete(self, indices: list[int]) -> None:
        for index in sorted(indices, reverse=True):
            del self.lines[index]
            del self.endings[index]

    def first(self, pattern: str | None) -> int | None:
        """The index of the first line `pattern` (a regex) is found in."""
        if pattern is None:
            return None
        regex = re.compile(pattern)
        return next((i for i, line in enumerate(self.lines) if regex.search(line)), None)

    def position(self, after: str | None, before: str | None) -> int:
        """Where new lines go: after the first line `after` matches, or before the first `before` matches, or last."""
        found = self.first(after)
        if found is not None:
            return found + 1
        found = self.first(before)
        return len(self.lines) if found is None else found


EDIT_ATTRIBUTES: dict[str, Attr] = {
    "path": Attr((str,), required=True, secret_ok=False),
    "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
    "create": Attr((bool,), default=False),
    "mode": Attr((str,), secret_ok=False, managed=True),
}


class Edit(Resource[EditProvider]):
    """A partial edit of one text file, through the file machinery: atomic write, old content to the bucket,
    a unified diff of the whole file in `plan`.

    Subclasses MUST add their attributes to EDIT_ATTRIBUTES, and implement `edit(text)` (change the
    text in place to what the resource wants) and `observed(text)` (the managed properties as the
    unedited text has them, asked only when `edit` changes something, so it must differ from `desired`).
    """

    batched: ClassVar[bool] = True
    previous: str | None = None  # the edit of the same path declared just before this one (the compiler's)
    _planned: tuple[bytes | None, bytes] | None = None

    @property
    def path(self) -> str:
        return str(self.values["path"])

    def edit(self, text: Text) -> None:
        raise NotImplementedError

    def observed(self, text: Text) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self) -> None:
        path = self.path
        if not path.startswith("/") or path != posixpath.normpath(path) or path == "/":
            raise self.fail(f"the path {path!r} must be absolute and normal (no '..', '//' or trailing '/')", "path")
        mode = self.values.get("mode")
        if mode is not None:
            if not _MODE.match(mode):
                raise self.fail(f'mode {mode!r} must be octal digits like "0644" (quote it in YAML)', "mode")
            self.values["mode"] = mode.zfill(4)
        if self.values.get("insert_after") is not None and self.values.get("insert_before") is not None:
            raise self.fail("give insert_after or insert_before, not both", "insert_before")

    def warnings(self) -> list[str]:
        mode = self.values.get("mode")
        if self.sensitive and mode is not None and int(mode, 8) & OTHERS_READ:
            return [f"{self.where('mode')}: {self.id}: writes a secret but mode {mode} lets others read it"]
        return []

    def temp_dirs(self) -> list[str]:
        return [posixpath.dirname(self.path)]

    def owned_paths(self) -> list[str]:
        return [self.path]

    def implicit_requires(self) -> list[str]:
        parent = posixpath.dirname(self.path)
        refs = [f"file:{self.path}"] + ([f"file:{parent}"] if parent != "/" else [])
        return [*refs, *([self.previous] if self.previous else [])]

    def current(self, system: Host, provider: EditProvider) -> dict[str, Any]:
        """The text as the edits before this one leave it, edited in memory; the result is staged for the next."""
        try:
            before = provider.read(self.path)
        except TendError as error:
            raise HostError(error.message, location=self.where("path")) from None
        if before.content is None and self.values["ensure"] == "absent":
            return {"ensure": "absent"}
        if before.content is None and not self.values["create"]:
            raise HostError(f"{self.path} does not exist (give create: true to create it)", location=self.where("path"))
        text = Text(before.content or b"")
        self.edit(text)
        after = text.render()
        mode = self._mode(before)
        self._refuse_readable_secret(mode)
        self._planned = (before.content, after)
        provider.stage(self.path, before, Target(after, mode))
        current = self.desired() if after == before.content else self.observed(Text(before.content or b""))
        return {**current, "mode": None if before.mode is None else f"{before.mode:04o}"}

    def _mode(self, before: Target) -> int:
        """The mode the file has after the edit: the one given, the one it has, or one for a new file."""
        mode = self.values.get("mode")
        if mode is not None:
            return int(mode, 8)
        if before.mode is not None:
            return before.mode
        return SENSITIVE_MODE if self.sensitive else NEW_MODE

    def _refuse_readable_secret(self, mode: int) -> None:
        """Only an edit whose own values come from a secret; others of the same path are merely kept quiet."""
        if self.tainted and self.values.get("mode") is None and mode & OTHERS_READ:
            raise HostError(
                f"writes a secret into {self.path}, which group or others can read (mode {mode:04o}); "
                "give `mode:` to say who may read it",
                location=self.where(),
            )

    def fix(self, system: Host, provider: EditProvider, changes: list[Change]) -> None:
        assert self._planned is not None, "current() plans the edit"
        old, new = self._planned
        path = system.resolve(self.path, follow=True)
        try:
            state = system.read_state(path)
            mode = self._mode(Target(old, None if state is None else state.mode))
            if old == new and state is not None:
                system.set_mode(path, mode)
                return
            parent = system.read_state(path.parent)
            if parent is None:
                raise HostError(
                    f"the parent directory {posixpath.dirname(self.path)} does not exist "
                    "(declare it with ensure: directory)",
                    location=self.where("path"),
                )
            if old is not None and state is not None:
                # A file others cannot read may hold what they must not: kept as privately as a secret.
                system.backup(old)
            uid, gid = (None, None) if state is None else (state.uid, state.gid)
            system.write_atomic(path, new, mode=mode, uid=uid, gid=gid)
        except BaseException:
            provider.unstage(self.path)
            raise

    def diff_text(self, system: Host) -> str | None:
        """The unified diff of the whole file, from what the edits before this one leave; never when sensitive."""
        if self.sensitive or self._planned is None:
            return None
        old, new = self._planned
        if old == new:
            return None
        lines = difflib.unified_diff(
            (old or b"").decode(errors="replace").splitlines(keepends=True),
            new.decode(errors="replace").splitlines(keepends=True),
            fromfile=f"{self.path} (current)",
            tofile=f"{self.path} (desired)",
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
