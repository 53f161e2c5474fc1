"""The checked inventory kept in the compile cache (DESIGN §8.19) under its text's digest: served again while the
text is the same, and any change of it seen, even one that keeps the file's size and times."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.catalog.cache import CompileCache
from agent.catalog.inventory import cached_inventory
from agent.errors import ConfigError
from agent.repo.inventory import Inventory, load_inventory

TEXT = "hosts:\n  web1: {role: web, ports: [80, 443]}\n  db1:\nadmins: [alice]\n"


def repo(tmp_path: Path, text: str = TEXT) -> Path:
    (tmp_path / "repo/keys").mkdir(parents=True, exist_ok=True)
    (tmp_path / "repo/keys/inventory.yaml").write_text(text)
    return tmp_path / "repo"


def kept(tmp_path: Path) -> dict[str, int]:
    return {p.name: p.stat().st_ino for p in (tmp_path / "cache/inventory").glob("*.tcc")}


def test_a_kept_inventory_is_served_as_it_was_read(tmp_path: Path) -> None:
    root, cache = repo(tmp_path), CompileCache(tmp_path / "cache")
    first = cached_inventory(root, cache)
    assert (
        first == load_inventory(root) == Inventory({"web1": {"role": "web", "ports": [80, 443]}, "db1": {}}, ("alice",))
    )
    entries = kept(tmp_path)
    assert len(entries) == 1
    again = cached_inventory(root, CompileCache(tmp_path / "cache"))
    assert again == first
    assert list(again.hosts) == ["web1", "db1"]  # in the file's order
    assert kept(tmp_path) == entries  # served, not written again


def test_a_change_that_keeps_size_and_times_is_seen(tmp_path: Path) -> None:
    root, cache = repo(tmp_path), CompileCache(tmp_path / "cache")
    cached_inventory(root, cache)
    path = root / "keys/inventory.yaml"
    before = path.stat()
    path.write_text(TEXT.replace("web1", "web2"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert set(cached_inventory(root, CompileCache(tmp_path / "cache")).hosts) == {"web2", "db1"}


def test_an_invalid_inventory_after_a_kept_one_is_refused_at_its_line(tmp_path: Path) -> None:
    root, cache = repo(tmp_path), CompileCache(tmp_path / "cache")
    cached_inventory(root, cache)
    repo(tmp_path, "hosts:\n  web1: {role: web}\nadmin: [alice]\n")
    with pytest.raises(ConfigError) as raised:
        cached_inventory(root, CompileCache(tmp_path / "cache"))
    assert str(raised.value).startswith("keys/inventory.yaml:3: ")
    assert "admin" in str(raised.value)


def test_what_is_not_plain_data_is_read_but_not_kept(tmp_path: Path) -> None:
    root = repo(tmp_path, "hosts:\n  web1: {since: 2024-01-02 03:04:05}\n")
    assert "since" in cached_inventory(root, CompileCache(tmp_path / "cache")).hosts["web1"]
    assert kept(tmp_path) == {}


def test_noop_keeps_nothing_and_no_cache_reads_as_before(tmp_path: Path) -> None:
    root = repo(tmp_path)
    assert cached_inventory(root, CompileCache(tmp_path / "cache", read_only=True)) == load_inventory(root)
    assert cached_inventory(root, CompileCache(None)) == load_inventory(root)
    assert not (tmp_path / "cache").exists()
    assert cached_inventory(tmp_path / "empty", CompileCache(tmp_path / "cache")) == Inventory({}, ())
