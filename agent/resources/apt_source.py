"""The `apt_source` type: a deb822 `/etc/apt/sources.list.d/<title>.sources` signed by its own keyring in
`/etc/apt/keyrings/`; a change makes apt's package lists stale."""

from __future__ import annotations

import difflib
import hashlib
import re
from typing import Any, ClassVar, Protocol

from agent.providers import provider_names
from agent.providers.apt_sources import (
    KEYRINGS_DIR,
    SOURCES_DIR,
    SourceFiles,
    SourceSpec,
    render,
    signed_by,
    sources_path,
)
from agent.resources.base import Attr, Change, Resource
from agent.system import Host

_TITLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ARMOR = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


class AptSourceProvider(Protocol):
    """What the apt_source type asks of its provider (agent/providers/apt.py)."""

    def source(self, name: str, wanted: SourceFiles | None) -> SourceFiles:
        """The files as they are; a difference from `wanted` makes the lists untrustworthy this run."""
        ...

    def write_source(self, name: str, files: SourceFiles) -> None: ...
    def remove_source(self, name: str) -> None: ...


def _words(value: str | list[Any]) -> str | None:
    words = [value] if isinstance(value, str) else value
    if not all(isinstance(w, str) and w and not any(c.isspace() for c in w) for w in words):
        return f"each entry must be one word (no spaces), not {value!r}"
    return None


def _digest(text: str | None) -> str | None:
    return None if text is None else "{sha256}" + hashlib.sha256(text.encode()).hexdigest()


class AptSource(Resource[AptSourceProvider]):
    type_name: ClassVar[str] = "apt_source"
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    attributes: ClassVar[dict[str, Attr]] = {
        "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
        "types": Attr((str, list), default="deb", secret_ok=False, check=_words),
        "uris": Attr((str, list), secret_ok=False, check=_words),
        "suites": Attr((str, list), secret_ok=False, check=_words),
        "components": Attr((str, list), default=[], secret_ok=False, check=_words),
        "architectures": Attr((str, list), default=[], secret_ok=False, check=_words),
        "key": Attr((str, bytes), secret_ok=False, from_files=True),
        "provider": Attr((str,), choices=provider_names("apt_source")),
    }

    def validate(self) -> None:
        if not _TITLE.match(self.title):
            raise self.fail(
                f"the title {self.title!r} names /etc/apt/sources.list.d/<title>.sources: apt reads only names "
                "of letters, digits, '_', '.' and '-'"
            )
        if self.values["ensure"] == "absent":
            return
        for name in ("uris", "suites", "key"):
            if not self.values.get(name):
                raise self.fail(f"'{name}' is required (unless ensure: absent)")
        key = self.values["key"]
        text = key.decode(errors="replace") if isinstance(key, bytes) else key
        if not text.lstrip().startswith(_ARMOR):
            raise self.fail(f"key must be an ASCII-armored public key ({_ARMOR} …: gpg --armor --export)", "key")
        self.values["key"] = text.strip() + "\n"

    def _spec(self) -> SourceSpec:
        values = [self.values.get(f) or [] for f in ("types", "uris", "suites", "components", "architectures")]
        return SourceSpec(*(((v,) if isinstance(v, str) else tuple(v)) for v in values))

    def _summary(self) -> str:
        """The source in one line, as a report shows it: `deb [arch=amd64] https://… bookworm main`."""
        spec = self._spec()
        arch = [f"[arch={','.join(spec.architectures)}]"] if spec.architectures else []
        return " ".join([",".join(spec.types), *arch, ",".join(spec.uris), ",".join(spec.suites), *spec.components])

    def _files(self, system: Host) -> SourceFiles | None:
        if self.values["ensure"] == "absent":
            return None
        return SourceFiles(render(self.title, self._spec(), signed_by(system, self.title)), self.values["key"])

    def temp_dirs(self) -> list[str]:
        return [SOURCES_DIR, KEYRINGS_DIR]

    def implicit_requires(self) -> list[str]:
        return [f"file:{SOURCES_DIR}", f"file:{KEYRINGS_DIR}"]

    def desired(self) -> dict[str, Any]:
        if self.values["ensure"] == "absent":
            return {"ensure": "absent"}
        return {"ensure": "present", "sources": self._summary(), "key": _digest(self.values["key"])}

    def current(self, system: Host, provider: AptSourceProvider) -> dict[str, Any]:
        """Both files; the source file reads as the summary when it is exactly what tend would write."""
        wanted = self._files(system)
        have = provider.source(self.title, wanted)
        present = have.sources is not None or have.key is not None
        same = wanted is not None and have.sources == wanted.sources
        sources = self._summary() if same else _digest(have.sources)
        return {"ensure": "present" if present else "absent", "sources": sources, "key": _digest(have.key)}

    def fix(self, system: Host, provider: AptSourceProvider, changes: list[Change]) -> None:
        wanted = self._files(system)
        if wanted is None:
            provider.remove_source(self.title)
        else:
            provider.write_source(self.title, wanted)

    def diff_text(self, system: Host) -> str | None:
        path = system.resolve(sources_path(self.title))
        old = system.read_bytes(path).decode(errors="replace") if system.read_state(path) else ""
        wanted = self._files(system)
        new = wanted.sources or "" if wanted else ""
        lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(path), str(path))
        return "".join(lines) or None
