"""What users and groups share: a name that must suit useradd, present or absent, created whole, then amended."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from agent.resources.base import Attr, Change, Resource
from agent.system import Host

# What useradd accepts on Debian (its default NAME_REGEX, relaxed as in login.defs' examples).
ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$")


class AccountProvider(Protocol):
    """What the user and group types ask of their providers to change an account (agent/providers/useradd.py).

    `properties` are the type's desired properties (for `create`) or the changed ones (for `modify`).
    """

    def create(self, name: str, properties: Mapping[str, Any], *, system_account: bool) -> None: ...
    def modify(self, name: str, properties: Mapping[str, Any]) -> None: ...
    def delete(self, name: str) -> None: ...


A = TypeVar("A", bound=AccountProvider)


def account_id(name: str) -> Attr:
    """A uid or gid attribute: a managed, non-negative integer."""

    def check(value: int) -> str | None:
        return f"{name} must not be negative" if value < 0 else None

    return Attr((int,), secret_ok=False, managed=True, check=check)


class Account(Resource[A]):
    """An account type: subclasses declare `ensure` (present, absent) and their properties as managed."""

    def validate(self) -> None:
        if not ACCOUNT_NAME.match(self.name) or len(self.name) > 32:
            raise self.fail(
                f"{self.name!r} is not a {self.type_name} name (lower case, digits, _ . -; at most 32)", "name"
            )

    def fix(self, system: Host, provider: A, changes: list[Change]) -> None:
        if self.values["ensure"] == "absent":
            provider.delete(self.name)
        elif any(c.property == "ensure" for c in changes):
            provider.create(self.name, self.desired(), system_account=self.values["system"])
        else:
            provider.modify(self.name, {c.property: c.new for c in changes})
