"""The user and group types with the shadow tools on a fake host: passwd and group files in, tool lines out."""

from __future__ import annotations

from agent.providers.options import ProviderOptions
from agent.providers.useradd import Groupadd, Useradd
from agent.resources.group import Group
from agent.resources.user import User
from tests.unit.fakes import FakeSystem, converge, declare

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:3101:3100::/srv/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:3100:\nlogs:x:3102:app\nstaff:x:50:\n"


def setup(root: str = "/") -> FakeSystem:
    base = root.rstrip("/")
    return FakeSystem(root, files={f"{base}/etc/passwd": PASSWD, f"{base}/etc/group": GROUP})


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
