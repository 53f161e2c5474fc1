"""A smoke check as the catalog holds it: its kind, rendered target and options, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.errors import ManifestError
from agent.location import Location

_OPTIONS = {
    "http": {"status", "contains", "timeout", "retries", "delay"},
    "tcp": {"timeout", "retries", "delay"},
    "command": {"shell", "timeout", "retries", "delay"},
    "process": {"retries", "delay"},
}


@dataclass(frozen=True, slots=True)
class Check:
    kind: str
    target: Any
    options: dict[str, Any]
    location: Location
    class_name: str = ""

    def validate(self) -> None:
        unknown = set(self.options) - _OPTIONS[self.kind]
        if unknown:
            raise ManifestError(f"{self.kind} check: unknown option '{sorted(unknown)[0]}'", location=self.location)
        if self.kind == "tcp" and not re.match(r"^[^:\s]+:\d+$", str(self.target)):
            raise ManifestError(f"tcp check: {self.target!r} is not host:port", location=self.location)
        if self.kind == "http" and not str(self.target).startswith(("http://", "https://")):
            raise ManifestError(f"http check: {self.target!r} is not an http(s) URL", location=self.location)
        if self.kind == "command" and isinstance(self.target, str) and not self.options.get("shell"):
            raise ManifestError(
                "command check: a string runs only with shell: true; or give argv", location=self.location
            )
