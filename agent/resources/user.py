"""The `user` type: present or absent; uid, primary group, home, shell and the exact supplementary groups."""

from __future__ import annotations

from typing import Any, ClassVar

from agent.providers import provider_names
from agent.resources.account import ACCOUNT_NAME, Account
from agent.resources.base import Attr, Change
from agent.system import System

PROPERTIES = ("uid", "gid", "home", "shell", "groups")


class User(Account):
    type_name: ClassVar[str] = "user"
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), default="present", choices=("present", "absent")),
        "uid": Attr((int,), secret_ok=False),
        "gid": Attr((int, str), secret_ok=False),
        "home": Attr((str,), secret_ok=False),
        "shell": Attr((str,), secret_ok=False),
        "groups": Attr((list, str), secret_ok=False),
        "system": Attr((bool,), default=False),
        "provider": Attr((str,), choices=provider_names("user")),
    }

    def validate(self) -> None:
        super().validate()
        gid = self.values.get("gid")
        if isinstance(gid, str) and gid.isdigit():
            self.values["gid"] = int(gid)  # "100" is the id 100, as useradd reads it
        groups = self.values.get("groups")
        if isinstance(groups, str):
            self.values["groups"] = groups = [groups]
        if groups is not None and not all(isinstance(g, str) and ACCOUNT_NAME.match(g) for g in groups):
            raise self.fail("groups must be a list of group names", "groups")
        for name in ("uid", "gid"):
            if isinstance(self.values.get(name), int) and self.values[name] < 0:
                raise self.fail(f"{name} must not be negative", name)
        for name in ("home", "shell"):
            if self.values.get(name) is not None and not self.values[name].startswith("/"):
                raise self.fail(f"{name} must be an absolute path", name)

    def implicit_requires(self) -> list[str]:
        gid = self.values.get("gid")
        return [f"group:{g}" for g in ([gid] if isinstance(gid, str) else []) + (self.values.get("groups") or [])]

    def desired(self) -> dict[str, Any]:
        if self.values["ensure"] == "absent":
            return {"ensure": "absent"}
        groups = self.values.get("groups")
        desired = {name: self.values.get(name) for name in PROPERTIES}
        return {"ensure": "present", **desired, "groups": None if groups is None else sorted(groups)}

    def current(self, system: System) -> dict[str, Any]:
        provider = self.provider()
        user = provider.user(self.name)
        if user is None:
            return {"ensure": "absent"}
        gid = self.values.get("gid")
        return {
            "ensure": "present",
            "uid": user.uid,
            "gid": (provider.group_name(user.gid) or user.gid) if isinstance(gid, str) else user.gid,
            "home": user.home,
            "shell": user.shell,
            "groups": provider.groups_of(self.name),
        }

    def create_spec(self) -> Any:
        return self.desired()

    def modify_spec(self, changes: list[Change]) -> Any:
        return {c.property: c.new for c in changes}
