"""User and group name ↔ id lookups that read the managed root's `/etc/passwd` and `/etc/group`; shadow lines."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.errors import HostError
from agent.system._oserror import host_error, is_missing
from agent.system.paths import Root


@dataclass(frozen=True, slots=True)
class User:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    gid: int
    members: tuple[str, ...]


def _records(text: str, fields: int) -> list[list[str]]:
    """The colon-separated records of a passwd/group file, skipping what glibc skips.

    Blank lines, comments, NIS compat entries (`+`/`-`) and lines with too few fields are ignored.
    """
    records = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "+", "-")):
            continue
        record = line.split(":")
        if len(record) >= fields and record[0]:
            records.append(record)
    return records


def parse_passwd(text: str) -> list[User]:
    """The users of a passwd file, in file order; lines with a non-numeric id are skipped."""
    users = []
    for name, _pw, uid, gid, gecos, home, shell, *_ in _records(text, 7):
        if uid.isdigit() and gid.isdigit():
            users.append(User(name, int(uid), int(gid), home, shell, gecos))
    return users


def parse_group(text: str) -> list[Group]:
    """The groups of a group file, in file order; lines with a non-numeric id are skipped."""
    groups = []
    for name, _pw, gid, members, *_ in _records(text, 4):
        if gid.isdigit():
            groups.append(Group(name, int(gid), tuple(m for m in members.split(",") if m)))
    return groups


def shadow_hash(text: str, name: str) -> str | None:
    """The password field of `name` in a shadow file's text; None when the user has no line."""
    for record in _records(text, 2):
        if record[0] == name:
            return record[1]
    return None


def with_password(text: str, name: str, crypted: str) -> str:
    """A shadow file's text with `name`'s password field set to `crypted` (the other fields kept).

    HostError when the user has no line (useradd writes one for every user it makes).
    """
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        fields = line.rstrip("\n").split(":")
        if len(fields) >= 2 and fields[0] == name:
            fields[1] = crypted
            lines[index] = ":".join(fields) + ("\n" if line.endswith("\n") else "")
            return "".join(lines)
    raise HostError(f"user '{name}' has no line in the shadow file", subject=name)


class Accounts:
    """Lookups in `<root>/etc/passwd` and `<root>/etc/group`, re-read whenever a file changes.

    On the host (`Root('/')`) a name missing from the files is also looked up through NSS (LDAP,
    sssd, …), as the tools tend runs would; under another root only the files count.
    A numeric string is taken as an id as it is.
    """

    __slots__ = ("_cache", "root")

    def __init__(self, root: Root):
        self.root = root
        self._cache: dict[str, tuple[tuple[int, int, int], str]] = {}

    def users(self) -> list[User]:
        """The users of the root's passwd file alone (no NSS): what useradd and friends manage."""
        return parse_passwd(self._read("/etc/passwd"))

    def groups(self) -> list[Group]:
        """The groups of the root's group file alone (no NSS)."""
        return parse_group(self._read("/etc/group"))

    def user(self, name: str) -> User:
        for user in parse_passwd(self._read("/etc/passwd")):
            if user.name == name:
                return user
        if self.root.is_host:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                pass
            else:
                return User(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_shell)
        raise HostError(f"unknown user '{name}' (not in {self._file('/etc/passwd')})", subject=name)

    def uid_of(self, name: str) -> int:
        return int(name) if name.isdigit() else self.user(name).uid

    def gid_of(self, name: str) -> int:
        if name.isdigit():
            return int(name)
        for group in parse_group(self._read("/etc/group")):
            if group.name == name:
                return group.gid
        if self.root.is_host:
            try:
                return grp.getgrnam(name).gr_gid
            except KeyError:
                pass
        raise HostError(f"unknown group '{name}' (not in {self._file('/etc/group')})", subject=name)

    def user_name(self, uid: int) -> str | None:
        """The name of `uid`, or None when no user has it (a file may be owned by a bare id)."""
        for user in parse_passwd(self._read("/etc/passwd")):
            if user.uid == uid:
                return user.name
        return _nss(pwd.getpwuid, uid) if self.root.is_host else None

    def group_name(self, gid: int) -> str | None:
        """The name of `gid`, or None when no group has it."""
        for group in parse_group(self._read("/etc/group")):
            if group.gid == gid:
                return group.name
        return _nss(grp.getgrgid, gid) if self.root.is_host else None

    def supplementary_gids(self, name: str, gid: int) -> list[int]:
        """`gid` and the ids of the groups that list `name` as a member, sorted (as initgroups sets them)."""
        if self.root.is_host:
            return sorted(set(os.getgrouplist(name, gid)))
        return sorted({gid, *(g.gid for g in parse_group(self._read("/etc/group")) if name in g.members)})

    def _file(self, managed: str) -> Path:
        return self.root.resolve(managed, follow=True)

    def _read(self, managed: str) -> str:
        """The file's text ('' when absent), cached while its inode, size and mtime stay the same."""
        path = self._file(managed)
        try:
            st = os.stat(path)
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
            cached = self._cache.get(managed)
            if cached is not None and cached[0] == key:
                return cached[1]
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            if is_missing(e):
                return ""
            raise host_error("read", path, e) from e
        self._cache[managed] = (key, text)
        return text


def _nss(lookup: Callable[[int], pwd.struct_passwd | grp.struct_group], number: int) -> str | None:
    """The name NSS gives for an id (`pwd.getpwuid`, `grp.getgrgid`), or None."""
    try:
        return lookup(number)[0]
    except KeyError:
        return None
