import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest

from agent.errors import HostError
from agent.system import files
from agent.system.files import FileKind, FileState

from .conftest import needs_root


def listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755, 0o4750])
def test_write_sets_the_exact_mode_under_umask_0(tmp_path, umask0, mode):
    target = tmp_path / "f"
    files.write_atomic(target, b"data", mode=mode)
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_temp_file_has_final_mode_before_the_rename(tmp_path, umask0):
    target = tmp_path / "motd"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    seen = {}

    def validate(temp: Path) -> None:
        st = os.lstat(temp)
        seen.update(name=temp.name, mode=stat.S_IMODE(st.st_mode), data=temp.read_bytes(), target=target.read_bytes())

    files.write_atomic(target, b"new", mode=0o600, validate=validate)
    assert seen["mode"] == 0o600
    assert seen["data"] == b"new"
    assert seen["target"] == b"old"
    assert seen["name"].startswith(".motd.tend-")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert listing(tmp_path) == ["motd"]


@needs_root
def test_temp_file_has_final_owner_before_the_rename(tmp_path):
    target = tmp_path / "f"
    owners = []
    files.write_atomic(target, b"x", mode=0o4755, uid=1234, gid=4321, validate=lambda t: owners.append(os.lstat(t)))
    st = target.stat()
    assert (owners[0].st_uid, owners[0].st_gid) == (1234, 4321)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 4321, 0o4755)


def test_readers_see_old_or_new_content_only(tmp_path):
    target = tmp_path / "f"
    contents = [b"a" * 70_000, b"b" * 130_000]
    target.write_bytes(contents[0])
    seen: set[bytes] = set()
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            seen.add(target.read_bytes())
            reads += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(200):
            files.write_atomic(target, contents[i % 2], mode=0o644)
    finally:
        stop.set()
        thread.join()
    assert reads > 0
    assert seen <= set(contents)
    assert listing(tmp_path) == ["f"]


def test_validate_refusing_leaves_target_and_no_temp(tmp_path):
    target = tmp_path / "sshd_config"
    target.write_bytes(b"old")

    def refuse(temp: Path) -> None:
        raise HostError("config test failed", subject="sshd -t")

    with pytest.raises(HostError, match="config test failed"):
        files.write_atomic(target, b"broken", mode=0o644, validate=refuse)
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["sshd_config"]


def test_missing_directory_is_a_host_error_naming_the_path(tmp_path):
    target = tmp_path / "nope" / "f"
    with pytest.raises(HostError) as err:
        files.write_atomic(target, b"x", mode=0o644)
    assert str(err.value) == f"{target}: cannot write: no such file or directory"


def test_writing_over_a_directory_fails_without_leftovers(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(HostError, match="is a directory"):
        files.write_atomic(tmp_path / "d", b"x", mode=0o644)
    assert listing(tmp_path) == ["d"]


def test_very_long_names_still_get_a_temp_file(tmp_path):
    target = tmp_path / ("n" * 255)
    files.write_atomic(target, b"x", mode=0o644)
    assert target.read_bytes() == b"x"


def test_cleanup_stale_temps(tmp_path):
    for name in (".motd.tend-0a1b2c", ".motd.tend-xyz", "motd", ".tend-0a1b2c"):
        (tmp_path / name).write_bytes(b"")
    os.symlink("/x", tmp_path / ".l.tend-abcdef")
    (tmp_path / ".d.tend-123456").mkdir()
    removed = files.cleanup_stale_temps(tmp_path)
    assert removed == [tmp_path / ".l.tend-abcdef", tmp_path / ".motd.tend-0a1b2c"]
    assert listing(tmp_path) == [".d.tend-123456", ".motd.tend-xyz", ".tend-0a1b2c", "motd"]
    assert files.cleanup_stale_temps(tmp_path / "missing") == []


def test_read_state_of_each_kind(tmp_path):
    (tmp_path / "f").write_bytes(b"12345")
    os.chmod(tmp_path / "f", 0o2640)
    (tmp_path / "d").mkdir(mode=0o750)
    os.chmod(tmp_path / "d", 0o750)
    os.symlink("f", tmp_path / "l")
    os.mkfifo(tmp_path / "p")
    uid, gid = os.getuid(), os.getgid()
    assert files.read_state(tmp_path / "f") == FileState(FileKind.FILE, 0o2640, uid, gid, 5)
    assert files.read_state(tmp_path / "d").kind is FileKind.DIRECTORY
    assert files.read_state(tmp_path / "d").mode == 0o750
    link = files.read_state(tmp_path / "l")
    assert (link.kind, link.target) == (FileKind.LINK, "f")
    assert files.read_state(tmp_path / "p").kind is FileKind.OTHER
    assert files.read_state(tmp_path / "missing") is None
    assert files.read_state(tmp_path / "f" / "under-a-file") is None


def test_read_bytes_and_digest(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)
    (tmp_path / "big").write_bytes(data)
    assert files.read_bytes(tmp_path / "big") == data
    assert files.file_digest(tmp_path / "big") == hashlib.sha256(data).hexdigest()


def test_reading_through_a_final_symlink_is_refused(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    os.symlink("f", tmp_path / "l")
    with pytest.raises(HostError, match="is a symbolic link"):
        files.read_bytes(tmp_path / "l")
    with pytest.raises(HostError, match="is a symbolic link"):
        files.file_digest(tmp_path / "l")
    with pytest.raises(HostError, match="cannot read: no such file"):
        files.read_bytes(tmp_path / "missing")


def test_symlink_atomic_creates_and_replaces(tmp_path):
    link = tmp_path / "current"
    files.symlink_atomic("bundles/a", link)
    assert os.readlink(link) == "bundles/a"
    files.symlink_atomic("bundles/b", link)
    assert os.readlink(link) == "bundles/b"
    (tmp_path / "plain").write_bytes(b"x")
    files.symlink_atomic("/etc/x", tmp_path / "plain")
    assert os.readlink(tmp_path / "plain") == "/etc/x"
    assert listing(tmp_path) == ["current", "plain"]


def test_symlink_atomic_over_a_directory_fails_cleanly(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(HostError, match=f"{tmp_path / 'd'}: cannot link: is a directory"):
        files.symlink_atomic("x", tmp_path / "d")
    assert listing(tmp_path) == ["d"]


def test_ensure_directory(tmp_path):
    d = tmp_path / "conf.d"
    files.ensure_directory(d, 0o750)
    assert stat.S_IMODE(d.stat().st_mode) == 0o750
    files.ensure_directory(d, 0o700)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(HostError, match="a file is in the way"):
        files.ensure_directory(tmp_path / "file", 0o755)
    with pytest.raises(HostError, match="cannot create directory: no such file"):
        files.ensure_directory(tmp_path / "a" / "b", 0o755)


def test_remove(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    (tmp_path / "target").write_bytes(b"keep")
    os.symlink("target", tmp_path / "l")
    (tmp_path / "empty").mkdir()
    (tmp_path / "full/sub").mkdir(parents=True)
    os.symlink(tmp_path / "target", tmp_path / "full/sub/link")
    assert files.remove(tmp_path / "f")
    assert files.remove(tmp_path / "l")
    assert files.remove(tmp_path / "empty")
    assert not files.remove(tmp_path / "missing")
    with pytest.raises(HostError, match="directory not empty"):
        files.remove(tmp_path / "full")
    assert files.remove(tmp_path / "full", recursive=True)
    assert listing(tmp_path) == ["target"]
    assert (tmp_path / "target").read_bytes() == b"keep"


def test_set_mode_refuses_links(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    files.set_mode(tmp_path / "f", 0o640)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640
    os.symlink("f", tmp_path / "l")
    with pytest.raises(HostError, match="mode of a symbolic link"):
        files.set_mode(tmp_path / "l", 0o777)


@needs_root
def test_set_owner_keeps_setuid_and_changes_links_not_targets(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"")
    os.chmod(f, 0o4755)
    files.set_owner(f, 1000, 1000)
    st = f.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1000, 0o4755)
    os.symlink("f", tmp_path / "l")
    files.set_owner(tmp_path / "l", 2000, None)
    assert os.lstat(tmp_path / "l").st_uid == 2000
    assert f.stat().st_uid == 1000
