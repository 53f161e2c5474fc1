"""The `group` type: present or absent, with its gid."""

from __future__ import annotations

from typing import Any, ClassVar

from agent.providers import provider_names
from agent.resources.account import Account
from agent.resources.base import Attr, Change
from agent.system import System


class Group(Account):
    type_name: ClassVar[str] = "group"
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), default="present", choices=("present", "absent")),
        "gid": Attr((int,), secret_ok=False),
        "system": Attr((bool,), default=False),
        "provider": Attr((str,), choices=provider_names("group")),
    }

    def validate(self) -> None:
        super().validate()
        if self.values.get("gid") is not None and self.values["gid"] < 0:
            raise self.fail("gid must not be negative", "gid")

    def desired(self) -> dict[str, Any]:
        if self.values["ensure"] == "absent":
            return {"ensure": "absent"}
        return {"ensure": "present", "gid": self.values.get("gid")}

    def current(self, system: System) -> dict[str, Any]:
        group = self.provider().group(self.name)
        return {"ensure": "absent"} if group is None else {"ensure": "present", "gid": group.gid}

    def create_spec(self) -> Any:
        return self.values.get("gid")

    def modify_spec(self, changes: list[Change]) -> Any:
        return self.values["gid"]
