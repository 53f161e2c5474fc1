"""The `user` type: present or absent; uid, primary group, home, shell and the exact supplementary groups."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from agent.providers import provider_names
from agent.resources.account import ACCOUNT_NAME, Account, AccountProvider, account_id
from agent.resources.base import Attr
from agent.system import Host
from agent.system.accounts import User as UserEntry


class UserProvider(AccountProvider, Protocol):
    """What the user type asks of its provider: the user as the root's passwd file has it, and its groups."""

    def user(self, name: str) -> UserEntry | None: ...

    def groups_of(self, name: str) -> list[str]:
        """The groups whose member list names the user, sorted."""
        ...

    def group_name(self, gid: int) -> str | None: ...


class User(Account[UserProvider]):
    type_name: ClassVar[str] = "user"
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
        "uid": account_id("uid"),
        "gid": Attr((int, str), secret_ok=False, managed=True),
        "home": Attr((str,), secret_ok=False, managed=True),
        "shell": Attr((str,), secret_ok=False, managed=True),
        "groups": Attr((list, str), secret_ok=False, managed=True),
        "system": Attr((bool,), default=False),
        "provider": Attr((str,), choices=provider_names("user")),
    }

    def validate(self) -> None:
        super().validate()
        gid = self.values.get("gid")
        if isinstance(gid, str) and gid.isdigit():
            self.values["gid"] = gid = int(gid)  # "100" is the id 100, as useradd reads it
        if isinstance(gid, int) and gid < 0:
            raise self.fail("gid must not be negative", "gid")
        groups = self.values.get("groups")
        if isinstance(groups, str):
            self.values["groups"] = groups = [groups]
        if groups is not None and not all(isinstance(g, str) and ACCOUNT_NAME.match(g) for g in groups):
            raise self.fail("groups must be a list of group names", "groups")
        for name in ("home", "shell"):
            if self.values.get(name) is not None and not self.values[name].startswith("/"):
                raise self.fail(f"{name} must be an absolute path", name)

    def implicit_requires(self) -> list[str]:
        gid = self.values.get("gid")
        return [f"group:{g}" for g in ([gid] if isinstance(gid, str) else []) + (self.values.get("groups") or [])]

    def desired(self) -> dict[str, Any]:
        desired = super().desired()
        if desired.get("groups") is not None:
            desired["groups"] = sorted(desired["groups"])  # as the provider reads them
        return desired

    def current(self, system: Host, provider: UserProvider) -> dict[str, Any]:
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
