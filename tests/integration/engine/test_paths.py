"""Issue 20, items 2 and 4 through `tend apply`: links where files or directories were, races, other users' trees."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.helpers import HIERA, write_tree
from tests.integration.engine.conftest import GROUP, PASSWD, Site
from tests.integration.system.otheruser import OtherUser, open_dir, other_user  # noqa: F401 - fixtures


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def manifest(*resources: str) -> dict[str, str]:
    return {"data/common.yaml": "classes: [site]\n", "manifests/site.yaml": "resources:\n" + "".join(resources)}


@pytest.mark.parametrize(("declared", "expected"), [("", 0o644), ('    mode: "0640"\n', 0o640)])
def test_a_file_that_replaces_a_link_gets_the_declared_or_default_mode(site: Site, declared, expected) -> None:
    (site.root / "run").mkdir()
    (site.root / "run/resolv.conf").write_text("nameserver 10.0.0.1\n")
    os.symlink("../run/resolv.conf", site.path("/etc/resolv.conf"))
    site.write(manifest('  - file: /etc/resolv.conf\n    content: "nameserver 10.0.0.2\\n"\n' + declared))
    first = site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    path = site.path("/etc/resolv.conf")
    assert not path.is_symlink() and path.read_text() == "nameserver 10.0.0.2\n"
    assert mode_of(path) == expected  # not the link's own 0777
    assert (site.root / "run/resolv.conf").read_text() == "nameserver 10.0.0.1\n"
    second = site.apply()
    assert second.returncode == 0, second.stdout + second.stderr
    assert mode_of(path) == expected


# `tend apply` in a child whose hash of the old file is followed by a swap of its directory for a
# link to outside the root: the moment between checking the path and writing it, made certain.
RACE = """
import sys
from pathlib import Path
from agent.cli.main import main
from agent.system import System

outside, directory = sys.argv[1], Path(sys.argv[2])
hash_old_file = System.file_digest

def racing(self, path, **options):
    digest = hash_old_file(self, path, **options)
    if path.parent == directory and not directory.is_symlink():
        directory.rename(directory.with_name("app.moved"))
        directory.symlink_to(outside)
    return digest

System.file_digest = racing
raise SystemExit(main(sys.argv[3:]))
"""


def test_a_parent_swapped_for_a_link_while_the_old_file_is_hashed_does_not_send_the_write_outside(
    site: Site, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"app.conf": "outside\n"})
    write_tree(site.root, {"etc/app/app.conf": "old\n"})
    site.write(manifest('  - file: /etc/app/app.conf\n    content: "new\\n"\n    mode: "0666"\n'))
    directory = site.path("/etc/app")
    argv = ["apply", "--repo", str(site.repo), "--root", str(site.root), "--state-dir", str(site.state), "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    env |= {"TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent", "TEND_FACTS_DIR": "/nonexistent"}
    done = subprocess.run(
        [sys.executable, "-c", RACE, str(outside), str(directory), *argv],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert directory.is_symlink(), done.stderr  # the race happened
    assert done.returncode == 1, done.stdout + done.stderr
    result = next(r for r in json.loads(done.stdout)["resources"] if r["id"] == "file:/etc/app/app.conf")
    assert result["status"] == "failed"
    assert result["error"] == f"{directory}: refusing a symbolic link where a directory is expected"
    assert sorted(os.listdir(outside)) == ["app.conf"]
    assert (outside / "app.conf").read_text() == "outside\n" and mode_of(outside / "app.conf") != 0o666
    assert (site.root / "etc/app.moved/app.conf").read_text() == "old\n"


def user_site(base: Path, user: OtherUser) -> Site:
    """A site whose root others may traverse, with `user` in its passwd and a home the user owns."""
    repo, root = base / "repo", base / "root"
    write_tree(repo, {"hiera.yaml": HIERA, "keys/inventory.yaml": "hosts:\n  web1: {role: web}\nadmins: []\n"})
    entry = f"{user.name}:x:{user.uid}:{user.gid}::/home/{user.name}:/usr/sbin/nologin\n"
    write_tree(root, {"etc/passwd": PASSWD + entry, "etc/group": GROUP + f"{user.name}:x:{user.gid}:\n"})
    for directory in (root / "home" / user.name, root / "home" / user.name / ".ssh"):
        directory.mkdir(parents=True)
        os.chown(directory, user.uid, user.gid)
    (root / "secret").mkdir(mode=0o700)
    return Site(repo, root, base / "state")


def keys_manifest(user: OtherUser, key: str) -> dict[str, str]:
    return manifest(
        f"  - user: {user.name}\n",
        f'  - file: /home/{user.name}/.ssh/authorized_keys\n    content: "{key}\\n"\n    owner: {user.name}\n',
    )


def test_a_user_who_replaces_their_ssh_directory_with_a_link_does_not_make_root_write_there(
    open_dir: Path,  # noqa: F811
    other_user: OtherUser,  # noqa: F811
) -> None:
    site = user_site(open_dir, other_user)
    home = site.root / "home" / other_user.name
    site.write(keys_manifest(other_user, "ssh-ed25519 AAAA first"))
    first = site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    assert (home / ".ssh/authorized_keys").stat().st_uid == other_user.uid
    swap = other_user.run(f"cd '{home}' && mv .ssh .ssh.old && ln -s /secret .ssh")
    assert swap.returncode == 0, swap.stderr
    site.write(keys_manifest(other_user, "ssh-ed25519 AAAA second"))
    second = site.apply()
    assert second.returncode == 4, second.stdout + second.stderr
    error = second.result(f"file:/home/{other_user.name}/.ssh/authorized_keys")["error"]
    assert error.startswith(f"{home / '.ssh'}: refusing to follow a symbolic link owned by uid {other_user.uid}")
    assert os.listdir(site.root / "secret") == []


def test_a_directory_owned_by_another_user_is_entered_only_when_the_catalog_declares_the_user(
    open_dir: Path,  # noqa: F811
    other_user: OtherUser,  # noqa: F811
) -> None:
    site = user_site(open_dir, other_user)
    name = other_user.name
    notes = f"  - file: /home/{name}/.ssh/notes\n    content: hello\n"
    site.write(manifest(notes))
    refused = site.apply()
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert refused.result(f"file:/home/{name}/.ssh/notes")["error"] == (
        f"{site.root / 'home' / name}: refusing to enter a directory owned by user {name}, who is not a user of "
        f"the catalog (declare user:{name} or this directory)"
    )
    assert not (site.root / "home" / name / ".ssh/notes").exists()
    site.write(manifest(f"  - user: {name}\n", notes))
    accepted = site.apply()
    assert accepted.returncode == 2, accepted.stdout + accepted.stderr
    assert (site.root / "home" / name / ".ssh/notes").read_text() == "hello"
