"""The `buffer` provider of partial edits: each path's content as the run's earlier edits leave it, so that in
`plan`, where nothing is written, the second edit of a file starts from the first one's result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.errors import HostError
from agent.providers.options import Note, ProviderOptions
from agent.system import FileKind, Host


@dataclass(frozen=True, slots=True)
class Target:
    """A file as an edit finds it: its bytes and mode, both None when it does not exist."""

    content: bytes | None
    mode: int | None


class EditBuffer:
    """One per run, shared by every line, block and ini.

    `stage` records an edit's result with the content the chain of edits started from. A later `read`
    returns the last result while the disk still holds that starting content (noop wrote nothing);
    once the disk differs (the edits were written, or something else changed the file) the disk is
    the truth. `unstage` forgets a path whose write failed.
    """

    name = "buffer"

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        return None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system
        self._staged: dict[str, tuple[Target, Target]] = {}

    def read(self, path: str) -> Target:
        on_disk = self._disk(path)
        staged = self._staged.get(path)
        return staged[1] if staged is not None and staged[0] == on_disk else on_disk

    def stage(self, path: str, before: Target, after: Target) -> None:
        """Record an edit's result; when it started from the last one staged, the chain keeps its first start."""
        staged = self._staged.get(path)
        self._staged[path] = (staged[0] if staged is not None and staged[1] == before else before, after)

    def unstage(self, path: str) -> None:
        self._staged.pop(path, None)

    def _disk(self, path: str) -> Target:
        host = self.system.resolve(path, follow=True)
        state = self.system.read_state(host)
        if state is None:
            return Target(None, None)
        if state.kind is not FileKind.FILE:
            raise HostError(f"{path} is a {state.kind}, not a file to edit")
        return Target(self.system.read_bytes(host), state.mode)
