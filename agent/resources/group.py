"""The `group` type: present or absent, with its gid."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from agent.providers import provider_names
from agent.resources.account import Account, AccountProvider, account_id
from agent.resources.base import Attr
from agent.system import Host
from agent.system.accounts import Group as GroupEntry


class GroupProvider(AccountProvider, Protocol):
    """What the group type asks of its provider: the group as the root's group file has it."""

    def group(self, name: str) -> GroupEntry | None: ...


class Group(Account[GroupProvider]):
    type_name: ClassVar[str] = "group"
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
        "gid": account_id("gid"),
        "system": Attr((bool,), default=False),
        "provider": Attr((str,), choices=provider_names("group")),
    }

    def current(self, system: Host, provider: GroupProvider) -> dict[str, Any]:
        group = provider.group(self.name)
        return {"ensure": "absent"} if group is None else {"ensure": "present", "gid": group.gid}
