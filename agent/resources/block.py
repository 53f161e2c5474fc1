"""The `block` type: lines between two marker lines, updated in place, never duplicated (Ansible's `blockinfile`)."""

from __future__ import annotations

from typing import Any, ClassVar

from agent.errors import HostError
from agent.resources.base import Attr
from agent.resources.edits import EDIT_ATTRIBUTES, Edit, Text, check_regex, has_break, plain

DEFAULT_MARKER = "# {mark} tend: {title}"


def _check_marker(value: str) -> str | None:
    if "{mark}" not in value:
        return f"marker {value!r} must hold {{mark}} (BEGIN and END take its place)"
    return "'marker' must be one line (no line breaks)" if has_break(value) else None


class Block(Edit):
    type_name: ClassVar[str] = "block"
    attributes: ClassVar[dict[str, Attr]] = {
        **EDIT_ATTRIBUTES,
        "content": Attr((str,), managed=True, sensitive=True),
        "marker": Attr((str,), secret_ok=False, check=_check_marker),
        "insert_after": Attr((str,), secret_ok=False, check=check_regex),
        "insert_before": Attr((str,), secret_ok=False, check=check_regex),
    }
    # Dropped: the block goes, found by its markers (its content is not needed, and may be secret).
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    undo_keeps: ClassVar[tuple[str, ...]] = ("path", "marker")

    def validate(self) -> None:
        if self.values["ensure"] == "present" and self.values.get("content") is None:
            raise self.fail("'content' is required (unless ensure: absent)")
        if self.values.get("marker") is None:
            if has_break(self.title):
                raise self.fail("the title goes into the default marker, so it must be one line")
            self.values["marker"] = DEFAULT_MARKER.replace("{title}", self.title)
        content = self.values.get("content")
        if isinstance(content, str):  # as observed() reads a block back: each line ended
            self.values["content"] = "".join(f"{line}\n" for line in content.splitlines())
        super().validate()

    def _markers(self) -> tuple[str, str]:
        marker = self.values["marker"]
        return marker.replace("{mark}", "BEGIN"), marker.replace("{mark}", "END")

    def _find(self, text: Text) -> tuple[int, int] | None:
        """The lines of the block, markers included, as [start, end); None when the file has none."""
        begin, end = self._markers()
        stripped = [line.rstrip() for line in text.lines]
        if begin not in stripped:
            return None
        start = stripped.index(begin)
        if end not in stripped[start + 1 :]:
            raise HostError(
                f"{self.path} line {start + 1} opens the block ({begin!r}) but no line after it closes it "
                f"({end!r}); mend the file by hand",
                location=self.where(),
            )
        return start, stripped.index(end, start + 1) + 1

    def _body(self) -> list[str]:
        return plain(self.values["content"]).splitlines()

    def edit(self, text: Text) -> None:
        found = self._find(text)
        if self.values["ensure"] == "absent":
            if found is not None:
                text.delete(list(range(*found)))
            return
        begin, end = self._markers()
        block = [begin, *self._body(), end]
        if found is None:
            text.insert(text.position(self.values.get("insert_after"), self.values.get("insert_before")), block)
        elif text.lines[found[0] + 1 : found[1] - 1] != block[1:-1]:
            text.replace(*found, block)

    def observed(self, text: Text) -> dict[str, Any]:
        found = self._find(text)
        if found is None:
            return {"ensure": "absent"}
        if self.values["ensure"] == "absent":
            return {"ensure": "present"}
        body = text.lines[found[0] + 1 : found[1] - 1]
        return {"ensure": "present", "content": "".join(f"{line}\n" for line in body)}
