"""The `sysctl` type: a kernel setting persisted under /etc/sysctl.d and set live (never under --root)."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol

from agent.providers import provider_names
from agent.providers.sysctld import DIRECTORY, normalized, persisted_path
from agent.resources.base import Attr, Change, Resource
from agent.system import Host

_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")


class SysctlProvider(Protocol):
    """What the sysctl type asks of its provider (agent/providers/sysctld.py)."""

    def persisted(self, key: str) -> str | None:
        """The persisted value; None when nothing is persisted, '' when its file does not set the key."""
        ...

    def live(self, key: str, wanted: str) -> str | None:
        """The live value; None where it is not managed (under --root, a read-only /proc/sys)."""
        ...

    def persist(self, key: str, value: str) -> None: ...
    def unpersist(self, key: str) -> None: ...
    def set_live(self, key: str, value: str) -> None: ...


def _one_line(value: str | int) -> str | None:
    text = str(value)
    return None if text.strip() and "\n" not in text else f"value must be one non-empty line, not {text!r}"


class Sysctl(Resource[SysctlProvider]):
    type_name: ClassVar[str] = "sysctl"
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
        "value": Attr((str, int), secret_ok=False, managed=True, check=_one_line),
        "provider": Attr((str,), choices=provider_names("sysctl")),
    }

    def validate(self) -> None:
        if not _KEY.match(self.name):
            raise self.fail(
                f"{self.name!r} is not a sysctl key (dotted names of letters, digits, _ and -, "
                "like net.ipv4.ip_forward)",
                "name",
            )
        value = self.values.get("value")
        if value is None and self.values["ensure"] == "present":
            raise self.fail("'value' is required (unless ensure: absent)")
        if value is not None:
            self.values["value"] = normalized(str(value))

    def temp_dirs(self) -> list[str]:
        return [DIRECTORY]

    def implicit_requires(self) -> list[str]:
        return [f"file:{DIRECTORY}"]

    def owned_paths(self) -> list[str]:
        return [persisted_path(self.name)]

    def desired(self) -> dict[str, Any]:
        desired = super().desired()
        return desired if self.values["ensure"] == "absent" else {**desired, "live": self.values["value"]}

    def current(self, system: Host, provider: SysctlProvider) -> dict[str, Any]:
        """The persisted value, and the live one where it is managed (compared only then)."""
        persisted = provider.persisted(self.name)
        current: dict[str, Any] = {"ensure": "absent" if persisted is None else "present", "value": persisted}
        if self.values["ensure"] == "present":
            live = provider.live(self.name, self.values["value"])
            if live is not None:
                current["live"] = live
        return current

    def fix(self, system: Host, provider: SysctlProvider, changes: list[Change]) -> None:
        key, value = self.name, self.values["value"]
        if self.values["ensure"] == "absent":
            provider.unpersist(key)
            return
        if {c.property for c in changes} & {"ensure", "value"}:
            provider.persist(key, value)
        if provider.live(key, value) not in (None, value):
            provider.set_live(key, value)
