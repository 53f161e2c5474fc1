"""The `ini` type: one setting of an INI-style file; comments, order and other settings untouched (`ini_setting`)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from agent.resources.base import Attr
from agent.resources.edits import EDIT_ATTRIBUTES, Edit, Text, has_break, one_line, plain

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]*)\]")
_COMMENT = re.compile(r"^\s*[#;]")


def _check_section(value: str) -> str | None:
    if "]" in value or "[" in value or has_break(value):
        return f"section {value!r} must be one line without brackets"
    return None


class Ini(Edit):
    type_name: ClassVar[str] = "ini"
    attributes: ClassVar[dict[str, Attr]] = {
        **EDIT_ATTRIBUTES,
        "section": Attr((str,), default="", secret_ok=False, check=_check_section),
        "setting": Attr((str,), required=True, secret_ok=False, check=one_line("setting")),
        "value": Attr((str, int, float, bool), managed=True, sensitive=True),
        "separator": Attr((str,), default=" = ", secret_ok=False, check=one_line("separator")),
    }
    # Dropped: the setting goes (its value is not needed, and may be secret).
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    undo_keeps: ClassVar[tuple[str, ...]] = ("path", "section", "setting", "separator")

    def validate(self) -> None:
        value = self.values.get("value")
        if value is None and self.values["ensure"] == "present":
            raise self.fail("'value' is required (unless ensure: absent)")
        if isinstance(value, bool | int | float):
            value = self.values["value"] = plain(value)
        if value is not None and has_break(value):
            raise self.fail("'value' must be one line (no line breaks)", "value")
        setting = self.values["setting"].strip()
        if not setting or setting[0] in "#;[" or self._split(setting + self.values["separator"]) != (setting, ""):
            raise self.fail(f"{self.values['setting']!r} is not a setting name this separator can delimit", "setting")
        super().validate()

    def _split(self, line: str) -> tuple[str, str] | None:
        """A setting line as (name, value), split at the separator's first non-blank character (else at
        the first blank); None for a line that sets nothing."""
        delimiter = self.values["separator"].strip()
        if delimiter:
            name, found, value = line.partition(delimiter)
            return (name.strip(), value.strip()) if found else None
        parts = line.split(None, 1)
        return (parts[0], parts[1].strip() if len(parts) > 1 else "") if parts else None

    def _section(self, text: Text) -> tuple[int, int] | None:
        """The lines of the section, its header left out, as [start, end); the lines before any header for ''."""
        wanted = self.values["section"].strip()
        start = 0 if not wanted else None
        for index, line in enumerate(text.lines):
            header = _SECTION.match(line)
            if header is None:
                continue
            if start is not None:
                return start, index
            if header.group("name").strip() == wanted:
                start = index + 1
        return None if start is None else (start, len(text.lines))

    def _settings(self, text: Text, span: tuple[int, int]) -> list[tuple[int, str]]:
        """The lines of the span that set this setting, with the value each gives."""
        found = []
        for index in range(*span):
            line = text.lines[index]
            if _COMMENT.match(line) or not line.strip():
                continue
            parsed = self._split(line)
            if parsed is not None and parsed[0] == self.values["setting"].strip():
                found.append((index, parsed[1]))
        return found

    def _line(self, indent: str) -> str:
        return f"{indent}{self.values['setting'].strip()}{self.values['separator']}{plain(self.values['value'])}"

    def edit(self, text: Text) -> None:
        span = self._section(text)
        found = [] if span is None else self._settings(text, span)
        if self.values["ensure"] == "absent":
            text.delete([index for index, _ in found])
            return
        value = plain(self.values["value"])
        if found:
            index, current = found[0]
            if current != value:
                line = text.lines[index]
                text.replace(index, index + 1, [self._line(line[: len(line) - len(line.lstrip())])])
            return
        if span is None:
            blank = [""] if text.lines and text.lines[-1].strip() else []
            text.insert(len(text.lines), [*blank, f"[{self.values['section'].strip()}]", self._line("")])
            return
        start, end = span
        last = max((i for i in range(start, end) if text.lines[i].strip()), default=start - 1)
        text.insert(last + 1, [self._line("")])

    def observed(self, text: Text) -> dict[str, Any]:
        span = self._section(text)
        found = [] if span is None else self._settings(text, span)
        if not found:
            return {"ensure": "absent"}
        if self.values["ensure"] == "absent":
            return {"ensure": "present"}
        return {"ensure": "present", "value": found[0][1]}
