"""The user and group types with the shadow tools (`--prefix`), in a temporary root with its own account files."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.system.accounts import parse_group, parse_passwd
from tests.integration.providers.conftest import Site, needs, write_tree

pytestmark = needs("useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel")

ACCOUNTS = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    "etc/group": "root:x:0:\ndaemon:x:1:\nusers:x:100:\n",
    "etc/shadow": "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    "etc/gshadow": "root:*::\ndaemon:*::\nusers:*::\n",
}


@pytest.fixture
def rooted(site: Site, tmp_path: Path) -> Site:
    site.root = tmp_path / "root"
    write_tree(site.root, ACCOUNTS)
    for name in ("shadow", "gshadow"):
        (site.root / "etc" / name).chmod(0o640)
    return site


def users(root: Path) -> dict[str, tuple]:
    return {u.name: (u.uid, u.gid, u.home, u.shell) for u in parse_passwd((root / "etc/passwd").read_text())}


def groups(root: Path) -> dict[str, tuple]:
    return {g.name: (g.gid, g.members) for g in parse_group((root / "etc/group").read_text())}


MANIFEST = """
resources:
  - file: /srv/app.conf
    content: "x\\n"
    owner: tendtest-app
    group: tendtest-app
  - user: tendtest-app
    uid: 3101
    gid: tendtest-app
    groups: [tendtest-logs]
    home: /srv/app
    shell: SHELL
  - group: tendtest-app
    gid: 3100
  - group: tendtest-logs
    gid: 3102
"""


def test_users_and_groups_converge_and_stay_converged(rooted: Site) -> None:
    root = rooted.root
    assert root is not None
    (root / "srv").mkdir()
    rooted.manifest(MANIFEST.replace("SHELL", "/bin/sh"))
    first = rooted.apply()
    assert first.returncode == 2, first
    # The file needs its owner and group, the user its groups: declared last, applied first.
    order = ["group:tendtest-app", "group:tendtest-logs", "user:tendtest-app", "file:/srv/app.conf"]
    assert list(first.statuses) == order
    assert users(root)["tendtest-app"] == (3101, 3100, "/srv/app", "/bin/sh")
    assert groups(root)["tendtest-logs"] == (3102, ("tendtest-app",))
    assert (root / "srv/app.conf").stat().st_uid == 3101
    second = rooted.apply()
    assert second.returncode == 0, second  # idempotent

    rooted.manifest(MANIFEST.replace("SHELL", "/bin/bash").replace("groups: [tendtest-logs]", "groups: []"))
    changed = rooted.apply()
    assert changed.returncode == 2, changed
    assert changed.result("user:tendtest-app")["changes"] == [
        {"property": "shell", "from": "/bin/sh", "to": "/bin/bash"},
        {"property": "groups", "from": ["tendtest-logs"], "to": []},
    ]
    assert users(root)["tendtest-app"][3] == "/bin/bash" and groups(root)["tendtest-logs"] == (3102, ())
    assert rooted.apply().returncode == 0


def test_gid_change_and_absent(rooted: Site) -> None:
    root = rooted.root
    assert root is not None
    rooted.manifest("""
        resources:
          - group: tendtest-grp
            gid: 3200
          - user: tendtest-usr
            system: true
    """)
    assert rooted.apply().returncode == 2
    assert groups(root)["tendtest-grp"][0] == 3200 and users(root)["tendtest-usr"][0] < 1000  # a system account
    rooted.manifest("""
        resources:
          - group: tendtest-grp
            gid: 3201
          - user: tendtest-usr
            ensure: absent
    """)
    run = rooted.apply()
    assert run.returncode == 2, run
    assert run.result("group:tendtest-grp")["changes"] == [{"property": "gid", "from": 3200, "to": 3201}]
    assert groups(root)["tendtest-grp"][0] == 3201 and "tendtest-usr" not in users(root)
    assert rooted.apply().returncode == 0


def test_a_tool_error_is_reported(rooted: Site) -> None:
    rooted.manifest("""
        resources:
          - user: tendtest-dup
            uid: 0
    """)
    run = rooted.apply()
    assert run.returncode == 4, run
    error = run.result("user:tendtest-dup")["error"]
    assert error == "useradd failed: exited with status 4: useradd: UID 0 is not unique"
