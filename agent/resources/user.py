"""The `user` type: uid, primary group, home (made from /etc/skel), shell, comment, the exact supplementary groups,
a password hash and the authorized SSH keys."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol

from agent.providers import provider_names
from agent.resources.account import ACCOUNT_NAME, Account, AccountProvider, account_id
from agent.resources.base import Attr, Change
from agent.system import Host
from agent.system.accounts import User as UserEntry

# What the account tools set; the password and the keys are set apart (never on a command line).
_TOOL_PROPERTIES = ("ensure", "uid", "gid", "home", "shell", "groups", "comment")
_CRYPT = re.compile(r"^(\$[0-9a-z]+\$[^:\s]+|[!*][^:\s]*)$")


class UserProvider(AccountProvider, Protocol):
    """What the user type asks of its provider: the user as the root's files have it, and its groups."""

    def user(self, name: str) -> UserEntry | None: ...

    def groups_of(self, name: str) -> list[str]:
        """The groups whose member list names the user, sorted."""
        ...

    def group_name(self, gid: int) -> str | None: ...

    def password(self, name: str) -> str | None:
        """The crypt hash; None where it cannot be read."""
        ...

    def set_password(self, name: str, crypted: str) -> None: ...

    def authorized_keys(self, name: str, home: str) -> list[str] | str | None:
        """The key lines; a text saying what is wrong with a mode or owner; None without a file."""
        ...

    def set_authorized_keys(self, name: str, home: str, keys: list[str]) -> None: ...

    def check_shell(self, shell: str) -> tuple[str | None, str | None]:
        """An error and a warning about a login shell (None: nothing to say)."""
        ...

    def note(self, text: str) -> None: ...


def _crypt_hash(value: Any) -> str | None:
    text = value.reveal() if hasattr(value, "reveal") else value
    return None if _CRYPT.match(str(text)) else "password must be a crypt hash ($y$…, $6$…) or a locked one (! or *)"


class User(Account[UserProvider]):
    type_name: ClassVar[str] = "user"
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str,), secret_ok=False),
        "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
        "uid": account_id("uid"),
        "gid": Attr((int, str), secret_ok=False, managed=True),
        "home": Attr((str,), secret_ok=False, managed=True),
        "shell": Attr((str,), secret_ok=False, managed=True),
        "comment": Attr((str,), secret_ok=False, managed=True),
        "groups": Attr((list, str), secret_ok=False, managed=True),
        "managehome": Attr((bool,), default=False),
        "password": Attr((str,), managed=True, sensitive=True, check=_crypt_hash),
        "authorized_keys": Attr((list, str), managed=True),
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
        for name in ("groups", "authorized_keys"):
            if isinstance(self.values.get(name), str):
                self.values[name] = [self.values[name]]
        groups = self.values.get("groups")
        if groups is not None and not all(isinstance(g, str) and ACCOUNT_NAME.match(g) for g in groups):
            raise self.fail("groups must be a list of group names", "groups")
        keys = self.values.get("authorized_keys")
        if keys is not None and not all(isinstance(k, str) and k.strip() and "\n" not in k.strip() for k in keys):
            raise self.fail("authorized_keys must be a list of keys, one line each", "authorized_keys")
        for name in ("home", "shell"):
            if self.values.get(name) is not None and not self.values[name].startswith("/"):
                raise self.fail(f"{name} must be an absolute path", name)
        if ":" in (self.values.get("comment") or "") or "\n" in (self.values.get("comment") or ""):
            raise self.fail("comment may not hold ':' or a line break", "comment")

    def hides(self, name: str) -> bool:
        """A password is never shown, secret or not."""
        return name == "password" or super().hides(name)

    def implicit_requires(self) -> list[str]:
        gid = self.values.get("gid")
        return [f"group:{g}" for g in ([gid] if isinstance(gid, str) else []) + (self.values.get("groups") or [])]

    def desired(self) -> dict[str, Any]:
        desired = super().desired()
        if desired.get("groups") is not None:
            desired["groups"] = sorted(desired["groups"])  # as the provider reads them
        if desired.get("password") is not None:
            desired["password"] = _plain(desired["password"])
        if desired.get("authorized_keys") is not None:
            desired["authorized_keys"] = [str(_plain(k)).strip() for k in desired["authorized_keys"]]
        return desired

    def current(self, system: Host, provider: UserProvider) -> dict[str, Any]:
        shell = self.values.get("shell")
        if shell is not None and self.values["ensure"] == "present":
            error, warning = provider.check_shell(shell)
            if error is not None:
                raise self.fail(error, "shell")
            if warning is not None:
                provider.note(f"{self.where('shell')}: {self.id}: {warning}")
        user = provider.user(self.name)
        if user is None:
            return {"ensure": "absent"}
        gid = self.values.get("gid")
        current: dict[str, Any] = {
            "ensure": "present",
            "uid": user.uid,
            "gid": (provider.group_name(user.gid) or user.gid) if isinstance(gid, str) else user.gid,
            "home": user.home,
            "shell": user.shell,
            "comment": user.comment,
            "groups": provider.groups_of(self.name),
        }
        if self.values.get("password") is not None:
            password = provider.password(self.name)
            if password is not None:
                current["password"] = password
        if self.values.get("authorized_keys") is not None:
            current["authorized_keys"] = provider.authorized_keys(self.name, self.values.get("home") or user.home)
        return current

    def fix(self, system: Host, provider: UserProvider, changes: list[Change]) -> None:
        desired = self.desired()
        if self.values["ensure"] == "absent":
            provider.delete(self.name)
            return
        names = {c.property for c in changes}
        home = {"managehome": self.values["managehome"]}
        if "ensure" in names:
            tools = {k: v for k, v in desired.items() if k in _TOOL_PROPERTIES}
            provider.create(self.name, {**tools, **home}, system_account=self.values["system"])
            system.changed()
        elif names & set(_TOOL_PROPERTIES):
            provider.modify(self.name, {**{c.property: c.new for c in changes if c.property in _TOOL_PROPERTIES},
                                        **home})  # fmt: skip
            system.changed()
        if desired.get("password") is not None and names & {"ensure", "password"}:
            provider.set_password(self.name, desired["password"])
        if desired.get("authorized_keys") is not None and names & {"ensure", "authorized_keys", "home"}:
            user = provider.user(self.name)
            provider.set_authorized_keys(self.name, user.home if user else desired["home"], desired["authorized_keys"])


def _plain(value: Any) -> Any:
    """A secret's text (a password hash from encrypted data), else the value."""
    return value.reveal() if hasattr(value, "reveal") else value
