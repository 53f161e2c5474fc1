"""The `useradd` and `groupadd` providers: the shadow tools, with state read from the root's passwd and group files.

Under `--root DIR` the tools run with `--prefix DIR`: they edit DIR/etc/passwd, group, shadow and
gshadow without chrooting, so DIR needs no binaries of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.errors import HostError
from agent.providers.options import Note, ProviderOptions
from agent.system import Host
from agent.system.accounts import Group, User

TIMEOUT_S = 120.0


class _Shadow:
    """What both providers share: the tools' argv under the root, and running them."""

    tools: tuple[str, ...] = ()

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        missing = [tool for tool in cls.tools if not system.has_command(tool)]
        return f"{', '.join(missing)} not found (Debian's passwd package has them)" if missing else None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system

    def _run(self, tool: str, *args: str) -> None:
        prefix = [] if self.system.root.is_host else ["--prefix", str(self.system.root.path)]
        result = self.system.run([tool, *prefix, *args], timeout=TIMEOUT_S)
        if not result.ok:
            raise HostError(f"{tool} failed: {result.failure()}")


class Useradd(_Shadow):
    name = "useradd"
    tools = ("useradd", "usermod", "userdel")

    def user(self, name: str) -> User | None:
        """The user as the root's passwd file has it (NSS sources such as LDAP are not ours to manage)."""
        return next((u for u in self.system.users() if u.name == name), None)

    def groups_of(self, name: str) -> list[str]:
        """The groups whose member list names the user, sorted."""
        return sorted(g.name for g in self.system.groups() if name in g.members)

    def group_name(self, gid: int) -> str | None:
        return next((g.name for g in self.system.groups() if g.gid == gid), None)

    def create(self, name: str, properties: Mapping[str, Any], *, system_account: bool) -> None:
        self._run("useradd", *(["--system"] if system_account else []), *_options(properties), name)

    def modify(self, name: str, properties: Mapping[str, Any]) -> None:
        self._run("usermod", *_options(properties), name)

    def delete(self, name: str) -> None:
        self._run("userdel", name)


class Groupadd(_Shadow):
    name = "groupadd"
    tools = ("groupadd", "groupmod", "groupdel")

    def group(self, name: str) -> Group | None:
        return next((g for g in self.system.groups() if g.name == name), None)

    def create(self, name: str, properties: Mapping[str, Any], *, system_account: bool) -> None:
        gid = properties.get("gid")
        options = [*(["--system"] if system_account else []), *(["--gid", str(gid)] if gid is not None else [])]
        self._run("groupadd", *options, name)

    def modify(self, name: str, properties: Mapping[str, Any]) -> None:
        self._run("groupmod", "--gid", str(properties["gid"]), name)

    def delete(self, name: str) -> None:
        self._run("groupdel", name)


def _options(properties: Mapping[str, Any]) -> list[str]:
    """useradd/usermod options for the properties given (None: leave alone)."""
    flags = {"uid": "-u", "gid": "-g", "home": "-d", "shell": "-s"}  # short: long names differ between the tools
    options: list[str] = []
    for key, flag in flags.items():
        if properties.get(key) is not None:
            options += [flag, str(properties[key])]
    if properties.get("groups") is not None:
        options += ["-G", ",".join(properties["groups"])]
    return options
