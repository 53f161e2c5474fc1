"""The `line` type: one line of a file present or absent, in place of a line that matches (Puppet's `file_line`)."""

from __future__ import annotations

import posixpath
import re
from typing import Any, ClassVar

from agent.errors import ManifestError
from agent.resources.base import Attr, Resource
from agent.resources.edits import EDIT_ATTRIBUTES, Edit, Text, check_regex, has_break, one_line, plain


class Line(Edit):
    type_name: ClassVar[str] = "line"
    attributes: ClassVar[dict[str, Attr]] = {
        **EDIT_ATTRIBUTES,
        "text": Attr((str,), managed=True, sensitive=True, check=one_line("text")),
        "match": Attr((str,), secret_ok=False, check=check_regex),
        "insert_after": Attr((str,), secret_ok=False, check=check_regex),
        "insert_before": Attr((str,), secret_ok=False, check=check_regex),
        "multiple": Attr((bool,), default=False),
    }
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    undo_keeps: ClassVar[tuple[str, ...]] = ("path", "text", "match")

    def undo(self) -> dict[str, Any] | None:
        """Dropped: the line goes, found by `match` when given, else by its text; a line whose text came
        from a secret and that has no `match` cannot be found without keeping the secret: never undone."""
        undo = super().undo()
        if undo is not None and undo.get("match") is None and undo.get("text") is None:
            return None
        if undo is not None and undo.get("match") is not None:
            undo.pop("text", None)  # with absent, `match` alone says which lines go
        return undo

    def validate(self) -> None:
        if self.values.get("text") is None:
            if has_break(self.title):
                raise self.fail("the title is the line's text, so it must be one line; give the line as text:")
            self.values["text"] = self.title
        super().validate()

    def declared_twice(self, other: Resource[Any]) -> ManifestError:
        """Lines are named by their text, which two files may share: the fix is a title of each one's own."""
        name = posixpath.basename(self.path)
        return self.fail(
            f"declared twice: also at {other.location} ({other.id}); a line's title is its text unless `text:` "
            f'is given, so give this one a title of its own, like `- line: "{name}: {self.title}"` with '
            f'`text: "{self.title}"`'
        )

    def _matching(self, text: Text, line: str) -> list[int]:
        """Lines the `match` regex is found in (or, without one, lines equal to the text)."""
        pattern = self.values.get("match")
        if pattern is None:
            return [i for i, body in enumerate(text.lines) if body == line]
        regex = re.compile(pattern)
        return [i for i, body in enumerate(text.lines) if regex.search(body)]

    def _replaceable(self, text: Text, line: str) -> list[int]:
        """Matching lines that differ from the text: every one with `multiple`, else the first unless the
        text is already there (an exact line already present is no change, as with `file_line`)."""
        if self.values.get("match") is None:
            return []
        hits = [i for i in self._matching(text, line) if text.lines[i] != line]
        if self.values["multiple"]:
            return hits
        return [] if line in text.lines else hits[:1]

    def edit(self, text: Text) -> None:
        line = plain(self.values["text"])
        if self.values["ensure"] == "absent":
            # Absent means absent: every line that matches goes, whatever `multiple` says.
            text.delete(self._matching(text, line))
            return
        replaceable = self._replaceable(text, line)
        for index in replaceable:
            text.replace(index, index + 1, [line])
        if not replaceable and line not in text.lines:
            text.insert(text.position(self.values.get("insert_after"), self.values.get("insert_before")), [line])

    def observed(self, text: Text) -> dict[str, Any]:
        if self.values["ensure"] == "absent":
            return {"ensure": "present"}
        replaceable = self._replaceable(text, plain(self.values["text"]))
        if replaceable:
            return {"ensure": "present", "text": text.lines[replaceable[0]]}
        return {"ensure": "absent"}
