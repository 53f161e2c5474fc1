"""The user and group types with the shadow tools (`--prefix`), in a temporary root with its own account files."""

from __future__ import annotations

import shutil
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
    "etc/shells": "/bin/sh\n/bin/bash\n",
    "etc/skel/.profile": "# skel\n",
    "bin/sh": "#!/bin/true\n",
    "bin/bash": "#!/bin/true\n",
    "usr/sbin/nologin": "#!/bin/true\n",
}


@pytest.fixture
def rooted(site: Site, tmp_path: Path) -> Site:
    site.root = tmp_path / "root"
    write_tree(site.root, ACCOUNTS)
    for name in ("shadow", "gshadow"):
        (site.root / "etc" / name).chmod(0o640)
    for shell in ("bin/sh", "bin/bash", "usr/sbin/nologin"):
        (site.root / shell).chmod(0o755)
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


HASH = "$y$j9T$tendtestsalt$Q0vJ4F1f3jnOlXGzUGDGq1t3l1dE1xDq9Yv3JbC3yX."
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTendTests tend@test"
PEOPLE = """
resources:
  - user: tendtest-ann
    uid: 3301
    home: HOME
    managehome: true
    comment: Ann Example
    password: "HASH"
    authorized_keys: ["KEY"]
    shell: /bin/bash
  - group: tendtest-ops
    gid: 3302
    members: [tendtest-ann, daemon]
"""


def people(home: str = "/home/tendtest-ann") -> str:
    return PEOPLE.replace("HASH", HASH).replace("KEY", KEY).replace("HOME", home)


def test_home_keys_password_and_members_under_a_root(rooted: Site) -> None:
    root = rooted.root
    assert root is not None
    (root / "home").mkdir()
    rooted.manifest(people())
    first = rooted.apply()
    assert first.returncode == 2, first
    assert first.result("user:tendtest-ann")["changes"] == [{"property": "ensure", "from": "absent", "to": "present"}]
    home = root / "home/tendtest-ann"
    assert (home / ".profile").read_text() == "# skel\n" and home.stat().st_uid == 3301  # from /etc/skel
    keys = home / ".ssh/authorized_keys"
    assert keys.read_text() == KEY + "\n"
    assert (keys.stat().st_mode & 0o777, keys.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    assert keys.stat().st_uid == keys.parent.stat().st_uid == 3301
    assert f"tendtest-ann:{HASH}:" in (root / "etc/shadow").read_text()
    assert (root / "etc/shadow").stat().st_mode & 0o777 == 0o640
    line = next(line for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("tendtest-ann:"))
    assert line.split(":")[4:] == ["Ann Example", "/home/tendtest-ann", "/bin/bash"]
    assert groups(root)["tendtest-ops"] == (3302, ("daemon", "tendtest-ann"))
    for text in (first.stdout, first.stderr, *(p.read_text() for p in rooted.state.rglob("*.json"))):
        assert HASH not in text and "tendtest-ann:$y$" not in text
    assert rooted.apply().returncode == 0  # idempotent

    keys.chmod(0o644)
    (root / "etc/shadow").write_text((root / "etc/shadow").read_text().replace(HASH, "!"))
    fixed = rooted.apply()
    assert fixed.returncode == 2, fixed
    password, keys_change = fixed.result("user:tendtest-ann")["changes"]
    assert password == {"property": "password"}  # never shown
    assert keys_change["from"].endswith("authorized_keys: mode 0644, uid 3301 (wanted mode 0600, uid 3301)")
    assert keys.stat().st_mode & 0o777 == 0o600 and HASH in (root / "etc/shadow").read_text()

    rooted.manifest(people("/srv/ann").replace("members: [tendtest-ann, daemon]", "members: [daemon]"))
    (root / "srv").mkdir()
    moved = rooted.apply()
    assert moved.returncode == 2, moved
    assert (root / "srv/ann/.profile").exists() and not home.exists()  # moved with the home attribute
    assert groups(root)["tendtest-ops"] == (3302, ("daemon",))
    assert rooted.apply().returncode == 0


def test_a_missing_shell_names_the_manifest_line(rooted: Site) -> None:
    rooted.manifest("""
        resources:
          - user: tendtest-sh
            shell: /bin/fish
    """)
    run = rooted.apply()
    assert run.returncode == 4, run
    assert run.result("user:tendtest-sh")["error"].startswith("manifests/site.yaml:")
    assert "the shell /bin/fish does not exist in the root" in run.result("user:tendtest-sh")["error"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (Debian: apt-get install strace)")
def test_no_child_process_gets_the_password_hash_in_its_argv(rooted: Site, tmp_path: Path) -> None:
    assert rooted.root is not None
    (rooted.root / "home").mkdir()
    rooted.manifest(people())
    log = tmp_path / "execve.log"
    run = rooted.apply(prefix=["strace", "-f", "-qq", "-e", "trace=execve", "-s", "65536", "-o", str(log)])
    assert run.returncode == 2, run
    traced = log.read_text()
    assert "useradd" in traced  # the trace saw the children
    assert HASH not in traced and HASH.split("$")[3] not in traced
