"""What users and groups share: a name that must suit useradd, present or absent, created whole, then amended."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.resources.base import Change, Resource
from agent.system import System

# What useradd accepts on Debian (its default NAME_REGEX, relaxed as in login.defs' examples).
ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$")


class Account(Resource):
    """Subclasses MUST implement `create_spec` (what a new account gets) and `modify_spec` (what changes)."""

    def validate(self) -> None:
        if not ACCOUNT_NAME.match(self.name) or len(self.name) > 32:
            raise self.fail(
                f"{self.name!r} is not a {self.type_name} name (lower case, digits, _ . -; at most 32)", "name"
            )

    def changes(self, desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
        if desired["ensure"] != current["ensure"]:
            return [Change("ensure", current["ensure"], desired["ensure"])]
        return super().changes(desired, current)

    def fix(self, system: System, changes: list[Change]) -> None:
        provider = self.provider()
        if self.values["ensure"] == "absent":
            provider.delete(self.name)
        elif any(c.property == "ensure" for c in changes):
            provider.create(self.name, self.create_spec(), system_account=self.values["system"])
        else:
            provider.modify(self.name, self.modify_spec(changes))

    def create_spec(self) -> Any:
        raise NotImplementedError

    def modify_spec(self, changes: list[Change]) -> Any:
        raise NotImplementedError
