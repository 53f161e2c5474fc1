from pathlib import Path

import pytest

from agent.errors import HostError
from agent.system.paths import Root, split_managed


def test_split_managed_drops_empty_and_dot_components():
    assert split_managed("/etc//./motd/") == ["etc", "motd"]
    assert split_managed("/") == []


@pytest.mark.parametrize("managed", ["etc/motd", "", "./etc", "~/x"])
def test_relative_paths_are_refused(managed):
    with pytest.raises(HostError, match="not an absolute path"):
        split_managed(managed)


@pytest.mark.parametrize("managed", ["/etc/../shadow", "/..", "/a/b/..", "/../../etc/passwd"])
def test_dotdot_is_refused_naming_the_path(managed):
    with pytest.raises(HostError) as err:
        split_managed(managed)
    assert str(err.value) == f"{managed}: path must not contain '..'"


def test_nul_byte_is_refused():
    with pytest.raises(HostError, match="NUL"):
        split_managed("/etc/mo\0td")


def test_dotdot_inside_a_name_is_allowed():
    assert split_managed("/srv/a..b/..c") == ["srv", "a..b", "..c"]


def test_is_host_only_for_slash():
    assert Root(Path("/")).is_host
    assert not Root(Path("/srv/image")).is_host


def test_resolve_refuses_before_touching_anything():
    with pytest.raises(HostError, match="must not contain"):
        Root(Path("/nonexistent-tend-root")).resolve("/etc/../x")
