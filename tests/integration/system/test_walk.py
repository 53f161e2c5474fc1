"""Issue 20 item 4: file operations walk from the root with O_NOFOLLOW, and enter others' directories only when told."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.errors import HostError
from agent.system import Bucket, Root, System, files
from agent.system.paths import Walker

from .conftest import needs_root

OTHER_UID = 4242


@pytest.fixture
def tree(tmp_path: Path) -> tuple[System, Path]:
    """A System on tmp_path/root, whose /etc holds app.conf and a link to outside the root for the swap."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "etc/app").mkdir(parents=True)
    (root / "etc/app/app.conf").write_bytes(b"old")
    outside.mkdir()
    (outside / "app.conf").write_bytes(b"outside")
    return System(Root(root)), outside


def swap_for_link(directory: Path, target: Path) -> None:
    """What an attacker does between tend's check and its write: the directory becomes a link."""
    directory.rename(directory.with_name(directory.name + ".moved"))
    directory.symlink_to(target)


OPERATIONS = {
    "write": lambda s, p: s.write_atomic(p, b"new", mode=0o666),
    "link": lambda s, p: s.symlink_atomic("/etc/shadow", p),
    "chmod": lambda s, p: s.set_mode(p, 0o666),
    "chown": lambda s, p: s.set_owner(p, os.geteuid(), None),
    "remove": lambda s, p: s.remove(p),
    "mkdir": lambda s, p: s.ensure_directory(p.with_name("sub"), 0o777),
    "read": lambda s, p: s.read_bytes(p),
    "hash": lambda s, p: s.file_digest(p),
    "inspect": lambda s, p: s.read_state(p),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_directory_swapped_for_a_link_after_resolve_is_refused(tree, operation) -> None:
    system, outside = tree
    path = system.resolve("/etc/app/app.conf")
    swap_for_link(path.parent, outside)
    with pytest.raises(HostError) as err:
        OPERATIONS[operation](system, path)
    assert str(err.value) == f"{path.parent}: refusing a symbolic link where a directory is expected"
    assert sorted(os.listdir(outside)) == ["app.conf"]
    assert (outside / "app.conf").read_bytes() == b"outside"
    assert stat.S_IMODE((outside / "app.conf").stat().st_mode) != 0o666


def test_the_rename_stays_in_the_directory_that_was_checked(tree) -> None:
    system, outside = tree
    path = system.resolve("/etc/app/app.conf")

    def swap_then_accept(temp: Path) -> None:  # validate runs between the temp file and the rename
        swap_for_link(path.parent, outside)

    files.write_atomic(path, b"new", mode=0o644, validate=swap_then_accept, walker=system.walker)
    assert (outside / "app.conf").read_bytes() == b"outside"
    assert sorted(os.listdir(outside)) == ["app.conf"]
    assert (path.parent.with_name("app.moved") / "app.conf").read_bytes() == b"new"


def test_links_owned_by_root_or_us_are_still_resolved_inside_the_root(tree) -> None:
    system, _ = tree
    (system.root.path / "etc/current").symlink_to("app")
    path = system.resolve("/etc/current/app.conf")
    assert path == system.root.path / "etc/app/app.conf"
    system.write_atomic(path, b"through a link of ours", mode=0o644)
    assert path.read_bytes() == b"through a link of ours"


def test_walks_refuse_paths_outside_their_base(tmp_path: Path) -> None:
    with pytest.raises(HostError, match=f"is outside the root {tmp_path / 'root'}"):
        files.read_state(tmp_path / "elsewhere" / "f", walker=Walker(tmp_path / "root"))


@needs_root
def test_a_link_another_user_owns_is_not_followed(tree) -> None:
    system, _ = tree
    home = system.root.path / "home/u"
    home.mkdir(parents=True)
    (home / ".ssh").symlink_to("/etc/app")
    os.lchown(home / ".ssh", OTHER_UID, OTHER_UID)
    with pytest.raises(HostError) as err:
        system.resolve("/home/u/.ssh/authorized_keys")
    assert str(err.value) == (
        f"{home / '.ssh'}: refusing to follow a symbolic link owned by uid {OTHER_UID} "
        "(only links owned by root or by the user tend runs as are followed)"
    )


@needs_root
def test_a_directory_another_user_owns_is_entered_only_when_trusted(tree) -> None:
    system, _ = tree
    passwd = f"root:x:0:0::/root:/bin/sh\nu:x:{OTHER_UID}:{OTHER_UID}::/home/u:/bin/sh\n"
    (system.root.path / "etc/passwd").write_text(passwd)
    home = system.root.path / "home/u"
    home.mkdir(parents=True)
    os.chown(home, OTHER_UID, OTHER_UID)
    target = system.resolve("/home/u/notes")
    with pytest.raises(HostError) as err:
        system.write_atomic(target, b"x", mode=0o644)
    assert str(err.value) == (
        f"{home}: refusing to enter a directory owned by user u, who is not a user of the catalog "
        "(declare user:u or this directory)"
    )
    system.trust(paths=["/home/u"])
    system.write_atomic(target, b"declared directory", mode=0o644)
    system.trust(users=["u"])
    system.write_atomic(target, b"declared user", mode=0o644)
    system.trust(paths=["/home/u/notes"], users=["someone"])
    with pytest.raises(HostError, match="refusing to enter"):
        system.read_state(target)


@needs_root
def test_a_trusted_path_is_trusted_as_written_and_where_its_links_lead(tree) -> None:
    system, _ = tree
    box = system.root.path / "home/u/box"
    box.mkdir(parents=True)
    os.chown(box, OTHER_UID, OTHER_UID)
    (system.root.path / "srv").mkdir()
    (system.root.path / "srv/data").symlink_to("/home/u")
    system.trust(paths=["/srv/data/box"])
    system.write_atomic(system.resolve("/home/u/box/notes"), b"through the link", mode=0o644)
    system.trust(paths=["//home/./u/box/"])
    system.write_atomic(system.resolve("/home/u/box/notes"), b"as written", mode=0o644)
    system.trust(paths=["/home/u/other", "/srv/data", "/home/u/box/notes"])
    with pytest.raises(HostError, match="refusing to enter"):
        system.read_state(system.resolve("/home/u/box/notes"))
    assert (box / "notes").read_bytes() == b"as written"


def test_resolved_paths_are_remembered_a_few_at_a_time(tree) -> None:
    system, _ = tree
    paths = [f"/etc/app/f{number}" for number in range(1000)]
    for path in paths:
        assert system.resolve(path) == system.root.path / path.lstrip("/")
    assert system.resolve(paths[-1]) is system.resolve(paths[-1])
    assert 0 < len(system._resolved) <= 64


@needs_root
def test_a_hard_link_in_another_users_directory_is_not_chmodded(tree) -> None:
    system, _ = tree
    shadow = system.root.path / "etc/app/app.conf"
    shadow.chmod(0o600)
    home = system.root.path / "home/u"
    home.mkdir(parents=True)
    os.chown(home, OTHER_UID, OTHER_UID)
    os.link(shadow, home / "notes")
    system.trust(paths=["/home/u"])
    with pytest.raises(HostError, match="the file has other hard links and its directory is owned by uid 4242"):
        system.set_mode(system.resolve("/home/u/notes"), 0o644)
    with pytest.raises(HostError, match="cannot set owner: the file has other hard links"):
        system.set_owner(system.resolve("/home/u/notes"), OTHER_UID, None)
    st = shadow.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, 0)


def test_a_bucket_subdirectory_swapped_for_a_link_is_refused(tmp_path: Path) -> None:
    bucket = Bucket(tmp_path / "bucket")
    digest = bucket.put(b"first")
    outside = tmp_path / "outside"
    outside.mkdir()
    swap_for_link(tmp_path / "bucket" / digest[:2], outside)
    with pytest.raises(HostError, match="refusing a symbolic link where a directory is expected"):
        bucket.get(digest)
    with pytest.raises(HostError, match="refusing a symbolic link where a directory is expected"):
        bucket.put(b"first")
    assert os.listdir(outside) == []


def test_a_bucket_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "bucket").symlink_to("elsewhere")
    with pytest.raises(HostError) as err:
        Bucket(tmp_path / "bucket").put(b"x")
    assert str(err.value) == f"{tmp_path / 'bucket'}: the bucket must be a directory, a link is there"
    assert os.listdir(tmp_path / "elsewhere") == []
