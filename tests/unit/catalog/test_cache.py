"""The compile cache's store: entries found by key while their facts match, 0600 files in a 0700 directory of
their own, damaged or foreign entries ignored, a size bound; and the tree digest that names a working tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.catalog.cache import CompileCache, tree_digest
from agent.catalog.tracking import ReadFacts
from tests.helpers import write_tree


def read_of(facts: dict) -> ReadFacts:
    tracked = ReadFacts(facts)
    tracked["role"]
    return tracked


def stored(tmp_path: Path, body: object = ("a", 1, b"\x00")) -> tuple[CompileCache, str, Path]:
    cache = CompileCache(tmp_path / "cache")
    key = cache.key("run", "stat:1", "web1")
    assert key is not None
    assert cache.put(key, "catalog", read_of({"role": "web", "uptime": 1}).read(), body)
    return cache, key, tmp_path / "cache" / f"{key}.tcc"


def test_an_entry_serves_while_the_facts_it_read_are_unchanged(tmp_path: Path) -> None:
    cache, key, path = stored(tmp_path)
    entry = cache.get(key, {"role": "web", "uptime": 99})
    assert entry is not None and entry.kind == "catalog" and entry.body == ("a", 1, b"\x00")
    assert cache.get(key, {"role": "db", "uptime": 1}) is None
    assert cache.get(cache.key("run", "stat:2", "web1"), {"role": "web"}) is None
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "cache").st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # a flipped bit
        lambda data: b"tend compile cache 0\n" + data[21:],  # another format
        lambda data: b"",
    ],
)
def test_a_damaged_entry_is_ignored(tmp_path: Path, damage) -> None:
    cache, key, path = stored(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get(key, {"role": "web"}) is None
    assert cache.put(key, "catalog", read_of({"role": "web"}).read(), "again")
    assert cache.get(key, {"role": "web"}).body == "again"


def test_an_entry_under_another_name_is_ignored(tmp_path: Path) -> None:
    cache, _, path = stored(tmp_path)
    other = cache.key("run", "stat:1", "web2")
    path.rename(path.with_name(f"{other}.tcc"))
    assert cache.get(other, {"role": "web"}) is None


def test_no_directory_or_no_digest_keeps_nothing(tmp_path: Path) -> None:
    assert CompileCache(None).key("run", "stat:1", "h") is None
    cache = CompileCache(tmp_path / "c")
    assert cache.key("run", None, "h") is None
    assert not cache.put(None, "catalog", read_of({"role": "x"}).read(), 1)
    assert not cache.put(cache.key("run", "d", "h"), "catalog", read_of({"role": "x"}).read(), object())


def test_a_directory_others_can_write_is_not_used_one_they_can_read_is_closed(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache").chmod(0o777)
    cache = CompileCache(tmp_path / "cache")
    assert not cache.put(cache.key("run", "d", "h"), "catalog", read_of({"role": "x"}).read(), 1)
    assert not list((tmp_path / "cache").iterdir())
    (tmp_path / "cache").chmod(0o755)
    cache = CompileCache(tmp_path / "cache")
    assert cache.put(cache.key("run", "d", "h"), "catalog", read_of({"role": "x"}).read(), 1)
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


def test_the_least_recently_used_entries_go_past_the_bound(tmp_path: Path) -> None:
    cache = CompileCache(tmp_path / "cache", max_bytes=3000)
    keys = [cache.key("run", "d", f"h{n}") for n in range(4)]
    for n, key in enumerate(keys):
        assert cache.put(key, "catalog", read_of({"role": "x"}).read(), "x" * 1000, prune=False)
        os.utime(tmp_path / "cache" / f"{key}.tcc", ns=(n * 10**9, n * 10**9))
    assert cache.get(keys[0], {"role": "x"}) is not None  # used: now the most recent
    cache.prune()
    left = {p.stem for p in (tmp_path / "cache").iterdir()}
    assert keys[0] in left and keys[3] in left and keys[1] not in left and len(left) == 2


def test_the_tree_digest_changes_with_any_file_mode_or_folder_but_not_with_git(tmp_path: Path) -> None:
    write_tree(tmp_path, {"hiera.yaml": "a", "files/x": "1", ".git/HEAD": "ref"})
    first = tree_digest(tmp_path)
    assert first is not None and tree_digest(tmp_path) == first
    (tmp_path / ".git/HEAD").write_text("other")
    assert tree_digest(tmp_path) == first
    (tmp_path / "files/x").chmod(0o755)
    assert tree_digest(tmp_path) != first
    second = tree_digest(tmp_path)
    (tmp_path / "files/empty").mkdir()
    assert tree_digest(tmp_path) != second
