import os
import re
from pathlib import Path

import pytest

from agent.errors import HostError
from agent.system.paths import Root


@pytest.fixture
def root(tmp_path: Path) -> Root:
    (tmp_path / "etc").mkdir()
    (tmp_path / "tmp").mkdir()
    return Root(tmp_path)


def test_plain_path_maps_under_the_root(root):
    assert root.resolve("/etc/motd") == root.path / "etc/motd"
    assert root.resolve("/not/yet/there") == root.path / "not/yet/there"
    assert root.resolve("/") == root.path


def test_host_root_is_the_identity():
    assert Root(Path("/")).resolve("/etc//hostname") == Path("/etc/hostname")


def test_root_given_through_a_symlink_is_made_real(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to("real")
    assert Root(tmp_path / "alias").path == tmp_path / "real"


def test_absolute_link_is_resolved_relative_to_the_root(root):
    os.symlink("/tmp", root.path / "etc/x")
    assert root.resolve("/etc/x/file") == root.path / "tmp/file"


def test_link_to_a_host_path_outside_the_root_stays_inside(root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside, root.path / "etc/out")
    resolved = root.resolve("/etc/out/secret")
    assert resolved == root.path / str(outside).lstrip("/") / "secret"
    assert resolved.is_relative_to(root.path)


def test_relative_link_climbing_above_the_root_is_clamped(root):
    os.symlink("../../../../../../../tmp", root.path / "etc/up")
    assert root.resolve("/etc/up/file") == root.path / "tmp/file"


def test_relative_link_inside_the_root(root):
    (root.path / "srv/data").mkdir(parents=True)
    os.symlink("../srv/data", root.path / "etc/data")
    assert root.resolve("/etc/data/x") == root.path / "srv/data/x"


def test_chained_links(root):
    os.symlink("/etc/b", root.path / "etc/a")
    os.symlink("c", root.path / "etc/b")
    os.symlink("/tmp", root.path / "etc/c")
    assert root.resolve("/etc/a/f") == root.path / "tmp/f"


def test_last_component_is_followed_only_when_asked(root):
    os.symlink("/tmp/target", root.path / "etc/motd")
    assert root.resolve("/etc/motd") == root.path / "etc/motd"
    assert root.resolve("/etc/motd", follow=True) == root.path / "tmp/target"


def test_dangling_and_escaping_last_link_is_followed_inside(root):
    os.symlink("/etc/shadow", root.path / "etc/pw")
    assert root.resolve("/etc/pw", follow=True) == root.path / "etc/shadow"


def test_link_loop_is_an_error_naming_the_path(root):
    os.symlink("loop2", root.path / "etc/loop1")
    os.symlink("loop1", root.path / "etc/loop2")
    with pytest.raises(HostError) as err:
        root.resolve("/etc/loop1/x")
    assert str(err.value) == "/etc/loop1/x: too many levels of symbolic links"


def test_dotdot_in_the_managed_path_is_refused(root):
    with pytest.raises(HostError, match=re.escape("/etc/../../x: path must not contain")):
        root.resolve("/etc/../../x")
