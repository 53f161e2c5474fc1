"""The lazy registries of resource types and providers: names known at once, a module imported on first use."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import HostError, ManifestError
from agent.lazy import LazyMapping, load
from agent.manifest.loader import ManifestLoader
from agent.providers import CANDIDATES, choose, provider_names
from agent.resources import TYPES
from agent.resources.base import Resource
from tests.helpers import write_tree


def test_a_lazy_mapping_makes_a_value_only_when_read_and_once():
    made: list[str] = []

    def make(path: str) -> str:
        made.append(path)
        return path.upper()

    mapping = LazyMapping({"a": "x:a", "b": "x:b"}, make)
    assert list(mapping) == ["a", "b"] and len(mapping) == 2 and "a" in mapping and "c" not in mapping
    assert made == []
    assert mapping["a"] == "X:A" and mapping["a"] == "X:A" and mapping.get("c") is None
    assert made == ["x:a"]
    with pytest.raises(KeyError):
        mapping["c"]


def test_load_imports_the_module_it_names():
    assert load("agent.resources.base:Resource") is Resource


def test_every_type_loads_a_resource_class_of_its_own_name():
    assert list(TYPES) == [
        "file", "exec", "package", "apt_source", "service", "user", "group", "sysctl", "line", "block", "ini",
    ]  # fmt: skip
    for name, cls in TYPES.items():
        assert issubclass(cls, Resource) and cls.type_name == name


def test_every_provider_name_is_its_class_name_in_order_of_preference():
    for type_name, classes in CANDIDATES.items():
        assert provider_names(type_name) == tuple(cls.name for cls in classes)
    assert provider_names("service") == ("systemd", "base")
    assert set(CANDIDATES) < set(TYPES)


def test_an_unknown_type_is_named_where_it_is_written(tmp_path: Path):
    write_tree(tmp_path, {"manifests/app.yaml": "resources:\n  - file: /etc/a\n  - fiel: /etc/x\n"})
    with pytest.raises(ManifestError) as caught:
        ManifestLoader(tmp_path, tuple(TYPES)).load("app")
    assert str(caught.value) == "manifests/app.yaml:3: unknown resource type 'fiel' (did you mean 'file'?)"


class _NoTools:
    def has_command(self, name: str) -> bool:
        return False


def test_a_provider_that_does_not_fit_is_still_said_why():
    with pytest.raises(HostError) as caught:
        choose("package", _NoTools(), None, {})  # type: ignore[arg-type]
    assert str(caught.value) == (
        "no suitable package provider: apt: apt-get, apt-cache, dpkg not found (not a Debian-like system)"
    )
    with pytest.raises(HostError) as caught:
        choose("user", _NoTools(), "adduser", {})  # type: ignore[arg-type]
    assert str(caught.value) == (
        "no suitable user provider: useradd: not the one asked for (provider: adduser); adduser: no such user provider"
    )
