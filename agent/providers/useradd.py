"""The `useradd` and `groupadd` providers: the shadow tools, with state read from the root's passwd and group files.

Under `--root DIR` the tools run with `--prefix DIR`: they edit DIR/etc/passwd, group, shadow and
gshadow without chrooting, so DIR needs no binaries of its own. A password never goes on a command
line: `chpasswd -e` reads it on stdin, and under `--root` it is written into DIR/etc/shadow directly.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Mapping
from typing import Any

from agent.errors import HostError
from agent.providers.options import Note, ProviderOptions
from agent.system import FileKind, Host
from agent.system.accounts import Group, User, shadow_hash, with_password

TIMEOUT_S = 120.0
SHADOW = "/etc/shadow"
SHELLS = "/etc/shells"
KEYS_FILE = ".ssh/authorized_keys"
# Shells that refuse a login: they need not be listed in /etc/shells.
NO_LOGIN = ("nologin", "false")


class _Shadow:
    """What both providers share: the tools' argv under the root, and running them."""

    tools: tuple[str, ...] = ()

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        missing = [tool for tool in cls.tools if not system.has_command(tool)]
        return f"{', '.join(missing)} not found (Debian's passwd package has them)" if missing else None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system
        self.note = note

    def _run(self, tool: str, *args: str, input: bytes | None = None) -> None:
        prefix = [] if self.system.root.is_host else ["--prefix", str(self.system.root.path)]
        result = self.system.run([tool, *prefix, *args], input=input, timeout=TIMEOUT_S)
        if not result.ok:
            raise HostError(f"{tool} failed: {result.failure()}")


class Useradd(_Shadow):
    name = "useradd"
    tools = ("useradd", "usermod", "userdel", "chpasswd")

    def user(self, name: str) -> User | None:
        """The user as the root's passwd file has it (NSS sources such as LDAP are not ours to manage)."""
        return next((u for u in self.system.users() if u.name == name), None)

    def groups_of(self, name: str) -> list[str]:
        """The groups whose member list names the user, sorted."""
        return sorted(g.name for g in self.system.groups() if name in g.members)

    def group_name(self, gid: int) -> str | None:
        return next((g.name for g in self.system.groups() if g.gid == gid), None)

    def create(self, name: str, properties: Mapping[str, Any], *, system_account: bool) -> None:
        home = ["-m"] if properties.get("managehome") else []
        if home and not self.system.root.is_host:
            home += ["-k", str(self.system.resolve("/etc/skel"))]  # --prefix would copy the host's own skel
        self._run("useradd", *(["--system"] if system_account else []), *home, *_options(properties), name)

    def modify(self, name: str, properties: Mapping[str, Any]) -> None:
        move = ["-m"] if properties.get("managehome") and properties.get("home") is not None else []
        self._run("usermod", *_options(properties), *move, name)

    def delete(self, name: str) -> None:
        self._run("userdel", name)

    def password(self, name: str) -> str | None:
        """The user's crypt hash in the root's shadow file; None when it cannot be read (not root)."""
        try:
            return shadow_hash(self.system.read_bytes(self.system.resolve(SHADOW)).decode(errors="replace"), name)
        except HostError:
            return None

    def set_password(self, name: str, crypted: str) -> None:
        """On this host `chpasswd -e` with the line on stdin; under --root DIR/etc/shadow, rewritten atomically."""
        if self.system.root.is_host:
            result = self.system.run(["chpasswd", "-e"], input=f"{name}:{crypted}\n".encode(), timeout=TIMEOUT_S)
            if not result.ok:
                raise HostError(f"chpasswd failed: exited with status {result.returncode}")  # its output may echo
            return
        path = self.system.resolve(SHADOW)
        state = self.system.read_state(path)
        if state is None or state.kind is not FileKind.FILE:
            raise HostError(f"no shadow file in the root ({path})", subject=name)
        old = self.system.read_bytes(path)
        self.system.backup(old)
        new = with_password(old.decode(errors="replace"), name, crypted).encode()
        self.system.write_atomic(path, new, mode=state.mode, uid=state.uid, gid=state.gid)

    def authorized_keys(self, name: str, home: str) -> list[str] | str | None:
        """The key lines of ~/.ssh/authorized_keys; a text saying what is wrong when a mode or owner is; None
        when there is no file."""
        path = self.system.resolve(posixpath.join(home, KEYS_FILE))
        state = self.system.read_state(path)
        if state is None:
            return None
        uid = self.system.uid_of(name)
        folder = self.system.read_state(path.parent)
        for what, found, mode in ((path.parent, folder, 0o700), (path, state, 0o600)):
            if found is None or found.mode != mode or found.uid != uid:
                shown = "missing" if found is None else f"mode {found.mode:04o}, uid {found.uid}"
                return f"{what}: {shown} (wanted mode {mode:04o}, uid {uid})"
        text = self.system.read_bytes(path).decode(errors="replace")
        return [line for line in text.splitlines() if line.strip()]

    def set_authorized_keys(self, name: str, home: str, keys: list[str]) -> None:
        """~/.ssh (0700) and ~/.ssh/authorized_keys (0600), both the user's, with exactly `keys`."""
        user = self.user(name)
        if user is None:
            raise HostError(f"user '{name}' does not exist", subject=name)
        path = self.system.resolve(posixpath.join(home, KEYS_FILE))
        if self.system.read_state(path.parent.parent) is None:
            raise HostError(f"the home {home} does not exist (give managehome: true)", subject=name)
        self.system.ensure_directory(path.parent, 0o700, user.uid, user.gid)
        self.system.set_mode(path.parent, 0o700)
        self.system.set_owner(path.parent, user.uid, user.gid)
        data = "".join(f"{key}\n" for key in keys).encode()
        self.system.write_atomic(path, data, mode=0o600, uid=user.uid, gid=user.gid)

    def check_shell(self, shell: str) -> tuple[str | None, str | None]:
        """What is wrong with a login shell in the root: an error (missing, not executable) or a warning
        (not in /etc/shells)."""
        try:
            path = self.system.resolve(shell, follow=True)
        except HostError as error:
            return f"the shell {shell} cannot be found in the root: {error}", None
        state = self.system.read_state(path)
        if state is None:
            return f"the shell {shell} does not exist in the root", None
        if state.kind is not FileKind.FILE or not state.mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
            return f"the shell {shell} is not an executable file", None
        if posixpath.basename(shell) in NO_LOGIN:
            return None, None
        shells = self.system.resolve(SHELLS)
        listed = (
            self.system.read_bytes(shells).decode(errors="replace").split() if self.system.read_state(shells) else []
        )
        return None, None if shell in listed else f"the login shell {shell} is not listed in /etc/shells"


class Groupadd(_Shadow):
    name = "groupadd"
    tools = ("groupadd", "groupmod", "groupdel")

    def group(self, name: str) -> Group | None:
        return next((g for g in self.system.groups() if g.name == name), None)

    def create(self, name: str, properties: Mapping[str, Any], *, system_account: bool) -> None:
        gid = properties.get("gid")
        options = [*(["--system"] if system_account else []), *(["--gid", str(gid)] if gid is not None else [])]
        self._run("groupadd", *options, name)
        if properties.get("members"):
            self._run("groupmod", "--users", ",".join(properties["members"]), name)

    def modify(self, name: str, properties: Mapping[str, Any]) -> None:
        options = ["--gid", str(properties["gid"])] if properties.get("gid") is not None else []
        if properties.get("members") is not None:
            options += ["--users", ",".join(properties["members"])]
        self._run("groupmod", *options, name)

    def delete(self, name: str) -> None:
        self._run("groupdel", name)


def _options(properties: Mapping[str, Any]) -> list[str]:
    """useradd/usermod options for the properties given (None: leave alone)."""
    flags = {"uid": "-u", "gid": "-g", "home": "-d", "shell": "-s", "comment": "-c"}  # long names differ
    options: list[str] = []
    for key, flag in flags.items():
        if properties.get(key) is not None:
            options += [flag, str(properties[key])]
    if properties.get("groups") is not None:
        options += ["-G", ",".join(properties["groups"])]
    return options
