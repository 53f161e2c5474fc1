import os
import stat
from pathlib import Path

import pytest

from agent.system import Bucket, FileKind, Root, System

from .conftest import needs_root


@pytest.fixture
def system(tmp_path: Path) -> System:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/:/bin/sh\napp:x:1200:1200::/:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\napp:x:1200:\n")
    return System(Root(root), Bucket(tmp_path / "bucket"), command_timeout=10)


def test_a_managed_file_is_written_under_the_root(system):
    path = system.resolve("/etc/motd")
    system.write_atomic(path, b"hello\n", mode=0o644)
    assert (system.root.path / "etc/motd").read_bytes() == b"hello\n"
    state = system.read_state(path)
    assert (state.kind, state.mode, state.size) == (FileKind.FILE, 0o644, 6)


def test_a_link_to_outside_the_root_does_not_escape(system, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside, system.root.path / "etc/conf.d")
    os.symlink("../../../../../../..", system.root.path / "etc/up")
    for managed in ("/etc/conf.d/app.conf", "/etc/up" + str(outside) + "/app.conf"):
        path = system.resolve(managed)
        assert path.is_relative_to(system.root.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        system.write_atomic(path, b"x", mode=0o600)
    assert os.listdir(outside) == []


def test_accounts_come_from_the_root(system):
    assert system.uid_of("app") == 1200
    assert system.gid_of("app") == 1200
    assert system.user_name(1200) == "app"
    assert system.group_name(0) == "root"


def test_backup(system, tmp_path):
    digest = system.backup(b"old")
    assert system.bucket.get(digest) == b"old"
    assert stat.S_IMODE(os.stat(tmp_path / "bucket" / digest[:2] / digest).st_mode) == 0o600
    assert System(Root(tmp_path)).backup(b"old") is None


def test_run_uses_the_default_timeout_and_the_host(system):
    assert System(Root(Path("/")), command_timeout=0.2).run(["sleep", "5"]).timed_out
    assert system.run(["sh", "-c", "test -d /proc && echo host"]).stdout == b"host\n"


@needs_root
def test_run_in_root_chroots(mini_root):
    (mini_root / "marker").write_bytes(b"in the root")
    system = System(Root(mini_root))
    assert system.run(["/bin/cat", "/marker"], in_root=True).stdout == b"in the root"
    host = System(Root(Path("/")))
    assert host.run(["cat", "/proc/self/comm"], in_root=True).stdout == b"cat\n"
