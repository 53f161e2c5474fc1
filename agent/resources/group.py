"""The `group` type: present or absent, with its gid and, when given, the exact list of its members."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from agent.providers import provider_names
from agent.resources.account import ACCOUNT_NAME, Account, AccountProvider, account_id
from agent.resources.base import Attr
from agent.system import Host
from agent.system.accounts import Group as GroupEntry


class GroupProvider(AccountProvider, Protocol):
    """What the group type asks of its provider: the group as the root's group file has it."""

    def group(self, name: str) -> GroupEntry | None: ...


class Group(Account[GroupProvider]):
    type_name: ClassVar[str] = "group"
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
        "gid": account_id("gid"),
        "members": Attr((list, str), secret_ok=False, managed=True),
        "system": Attr((bool,), default=False),
        "provider": Attr((str,), choices=provider_names("group")),
    }

    def validate(self) -> None:
        super().validate()
        members = self.values.get("members")
        if isinstance(members, str):
            self.values["members"] = members = [members]
        if members is not None and not all(isinstance(m, str) and ACCOUNT_NAME.match(m) for m in members):
            raise self.fail("members must be a list of user names", "members")

    def desired(self) -> dict[str, Any]:
        desired = super().desired()
        if desired.get("members") is not None:
            desired["members"] = sorted(set(desired["members"]))  # as current reads them
        return desired

    def current(self, system: Host, provider: GroupProvider) -> dict[str, Any]:
        group = provider.group(self.name)
        if group is None:
            return {"ensure": "absent"}
        return {"ensure": "present", "gid": group.gid, "members": sorted(set(group.members))}
