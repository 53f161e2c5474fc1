"""The user and group types with the shadow tools on a fake host: passwd and group files in, tool lines out."""

from __future__ import annotations

import pytest

from agent.errors import ManifestError
from agent.providers.options import ProviderOptions
from agent.providers.useradd import Groupadd, Useradd
from agent.resources.group import Group
from agent.resources.user import User
from tests.unit.fakes import FakeSystem, converge, declare

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:3101:3100::/srv/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:3100:\nlogs:x:3102:app\nstaff:x:50:\n"


SHADOW = "root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n"
HASH = "$y$j9T$abcdefgh$0123456789abcdefghijklmnopqrstuvwxyzABCDE"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey app@laptop"


def setup(root: str = "/") -> FakeSystem:
    base = root.rstrip("/")
    system = FakeSystem(root, files={f"{base}/etc/passwd": PASSWD, f"{base}/etc/group": GROUP})
    system.put(f"{base}/etc/shadow", SHADOW, 0o640)
    system.put(f"{base}/etc/shells", "/bin/sh\n/bin/bash\n")
    for shell in ("/bin/sh", "/bin/bash", "/bin/zsh", "/usr/sbin/nologin"):
        system.put(f"{base}{shell}", "ELF", 0o755)
    return system


def test_a_missing_user_is_created_whole() -> None:
    system = setup()
    web = declare(User, "web", uid=3200, gid="app", groups=["staff", "logs"], shell="/bin/bash")
    assert converge(web, system, Useradd(system, ProviderOptions(), print)) == [("ensure", "absent", "present")]
    assert system.ran == ["useradd -u 3200 -g app -s /bin/bash -G logs,staff web"]


def test_only_what_differs_is_modified() -> None:
    system = setup()
    app = declare(User, "app", uid=3101, gid="app", groups=["logs", "staff"], shell="/bin/bash")
    assert converge(app, system, Useradd(system, ProviderOptions(), print)) == [
        ("shell", "/bin/sh", "/bin/bash"), ("groups", ["logs"], ["logs", "staff"])
    ]  # fmt: skip
    assert system.ran == ["usermod -s /bin/bash -G logs,staff app"]


def test_in_sync_and_absent_users() -> None:
    system = setup()
    useradd = Useradd(system, ProviderOptions(), print)
    assert converge(declare(User, "app", uid=3101, groups=["logs"]), system, useradd) == []
    assert converge(declare(User, "nobody-here", ensure="absent"), system, useradd) == []
    assert converge(declare(User, "app", ensure="absent"), system, useradd) == [("ensure", "present", "absent")]
    assert system.ran == ["userdel app"]


def test_groups_under_a_root() -> None:
    system = setup("/tmp/r")
    groupadd = Groupadd(system, ProviderOptions(), print)
    assert converge(declare(Group, "web", gid=3300, system=True), system, groupadd) == [("ensure", "absent", "present")]
    assert converge(declare(Group, "logs", gid=3103), system, groupadd) == [("gid", 3102, 3103)]
    assert converge(declare(Group, "staff"), system, groupadd) == []
    assert system.ran == [
        "groupadd --prefix /tmp/r --system --gid 3300 web",
        "groupmod --prefix /tmp/r --gid 3103 logs",
    ]


def test_home_comment_and_password_on_creation() -> None:
    system = setup()
    notes: list[str] = []
    web = declare(User, "web", managehome=True, comment="Web site", password=HASH)
    assert converge(web, system, Useradd(system, ProviderOptions(), notes.append)) == [("ensure", "absent", "present")]
    assert system.ran == ["useradd -m -c 'Web site' web", "chpasswd -e"]
    assert system.stdin[-1] == f"web:{HASH}\n".encode()  # on stdin, never on a command line
    assert all(HASH not in line for line in system.ran)


def test_a_password_change_is_never_shown() -> None:
    system = setup()
    app = declare(User, "app", password=HASH)
    changes = app.changes(app.desired(), app.current(system, Useradd(system, ProviderOptions(), print)))
    assert [c.to_json(app.hides(c.property)) for c in changes] == [{"property": "password"}]


def test_under_a_root_the_password_goes_into_its_shadow_file() -> None:
    system = setup("/tmp/r")
    useradd = Useradd(system, ProviderOptions(), print)
    assert converge(declare(User, "app", password=HASH), system, useradd) == [("password", "!", HASH)]
    assert system.ran == []
    assert system.text("/tmp/r/etc/shadow") == f"root:*:19000:0:99999:7:::\napp:{HASH}:19000:0:99999:7:::\n"
    assert system.modes[system.resolve("/etc/shadow")] == 0o640
    assert system.backups == [SHADOW.encode()]
    assert converge(declare(User, "app", password=HASH), system, useradd) == []


def test_home_moves_with_managehome() -> None:
    system = setup()
    app = declare(User, "app", home="/home/app", managehome=True)
    assert converge(app, system, Useradd(system, ProviderOptions(), print)) == [("home", "/srv/app", "/home/app")]
    assert system.ran == ["usermod -d /home/app -m app"]


def test_authorized_keys_are_owned_wholly() -> None:
    system = setup()
    system.directories.add(system.resolve("/srv/app"))
    useradd = Useradd(system, ProviderOptions(), print)
    app = declare(User, "app", authorized_keys=[KEY, "ssh-rsa AAAAB3Nza second"])
    assert converge(app, system, useradd) == [("authorized_keys", None, [KEY, "ssh-rsa AAAAB3Nza second"])]
    keys = system.resolve("/srv/app/.ssh/authorized_keys")
    assert system.text(str(keys)) == f"{KEY}\nssh-rsa AAAAB3Nza second\n"
    assert system.modes[keys] == 0o600
    assert system.modes[keys.parent] == 0o700


def test_a_shell_must_exist_and_a_login_shell_be_listed() -> None:
    system = setup()
    notes: list[str] = []
    useradd = Useradd(system, ProviderOptions(), notes.append)
    with pytest.raises(ManifestError) as raised:
        declare(User, "web", shell="/bin/fish", line=7).current(system, useradd)
    assert str(raised.value).startswith("manifests/site.yaml:7")
    assert "the shell /bin/fish does not exist in the root" in str(raised.value)
    declare(User, "web", shell="/bin/zsh", line=9).current(system, useradd)
    declare(User, "web", shell="/usr/sbin/nologin").current(system, useradd)
    assert notes == ["manifests/site.yaml:9: user:web: the login shell /bin/zsh is not listed in /etc/shells"]


def test_a_password_must_be_a_crypt_hash() -> None:
    with pytest.raises(ManifestError, match="password must be a crypt hash"):
        declare(User, "web", password="hunter2")


def test_group_members_are_the_exact_list() -> None:
    system = setup()
    groupadd = Groupadd(system, ProviderOptions(), print)
    assert converge(declare(Group, "logs", members=["web", "app"]), system, groupadd) == [
        ("members", ["app"], ["app", "web"])
    ]
    assert converge(declare(Group, "staff", members=[]), system, groupadd) == []
    assert converge(declare(Group, "logs", members=[]), system, groupadd) == [("members", ["app"], [])]
    assert converge(declare(Group, "ops", members=["app"]), system, groupadd) == [("ensure", "absent", "present")]
    assert system.ran == ["groupmod --users app,web logs", "groupmod --users '' logs", "groupadd ops",
                          "groupmod --users app ops"]  # fmt: skip
