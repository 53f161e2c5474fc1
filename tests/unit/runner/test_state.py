"""state.json's format versions and migrations, damage set aside (never lost), and the ledger that recalls drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.runner.state import LEDGER, MIGRATIONS, STATE_VERSION, Damaged, RunState, json_pieces, upgrade

AT = datetime(2026, 12, 3, 10, 15, 0, tzinfo=UTC)
RESOURCES = {
    "file:/etc/a": {"desired": "d" * 64, "status": "changed", "at": "2026-12-01T00:00:00.000Z"},
    "exec:restart": {"desired": "e" * 64, "status": "unchanged", "at": "2026-12-01T00:00:00.000Z"},
}
OWED = {"exec:restart": ["file:/etc/a"]}
NO_CATALOG = {"catalog": {}, "applied_for": None}
CATALOG = {
    "file:/etc/a": {"type": "file", "title": "/etc/a", "undo": {"ensure": "absent"}, "on_drop": None, "requires": []},
    "exec:restart": {"type": "exec", "title": "restart", "undo": None, "on_drop": "keep", "requires": ["file:/etc/a"]},
}


def test_every_version_before_the_current_one_has_a_migration() -> None:
    assert sorted(MIGRATIONS) == list(range(STATE_VERSION))
    for version, migrate in MIGRATIONS.items():
        before = {"resources": {}, "owed_refresh": {}} | ({"version": version} if version else {})
        assert migrate(before)["version"] == version + 1


def test_a_version_0_file_is_migrated_to_the_current_version(tmp_path: Path) -> None:
    """Version 0: the layout without a version field."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"resources": RESOURCES, "owed_refresh": OWED}))
    state = RunState.load(path, now=AT)
    assert state.damaged is None
    assert (state.resources, state.owed) == (RESOURCES, OWED)
    assert path.is_file() and not list(tmp_path.glob("*.damaged-*"))
    state.save()
    assert json.loads(path.read_text()) == {
        "version": 3, "resources": RESOURCES, "owed_refresh": OWED, "held_secret": sorted(RESOURCES), **NO_CATALOG,
    }  # fmt: skip


def test_a_version_1_file_is_migrated_with_every_resource_taken_to_have_held_a_secret(tmp_path: Path) -> None:
    """Version 1 did not record which resources held a secret: unknown counts as held, so the first plan
    after an upgrade never shows old content that may be secret; the next full apply records the truth."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "resources": RESOURCES, "owed_refresh": OWED}, sort_keys=True))
    state = RunState.load(path)
    assert state.damaged is None and (state.resources, state.owed) == (RESOURCES, OWED)
    assert state.held_secret("file:/etc/a") and state.held_secret("exec:restart")
    state.record("file:/etc/a", "d" * 64, "changed", "2026-12-02T00:00:00.000Z", sensitive=False)
    state.save()
    again = RunState.load(path)
    assert not again.held_secret("file:/etc/a") and again.held_secret("exec:restart")
    assert json.loads(path.read_text())["version"] == 3


def test_a_version_2_file_gains_an_empty_catalog(tmp_path: Path) -> None:
    """Version 2 had no recorded catalog: nothing is dropped until a full apply records one."""
    path = tmp_path / "state.json"
    version_2 = {"version": 2, "resources": RESOURCES, "owed_refresh": OWED, "held_secret": ["file:/etc/a"]}
    path.write_text(json.dumps(version_2, sort_keys=True))
    state = RunState.load(path)
    assert state.damaged is None and (state.catalog, state.applied_for) == ({}, None)
    assert state.held_secret("file:/etc/a") and not state.held_secret("exec:restart")
    state.save()
    assert json.loads(path.read_text()) == {**version_2, "version": 3, **NO_CATALOG}


def test_a_file_as_this_tend_wrote_it_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    applied_for = {"repo": "/srv/site", "host": "web1", "root": "/"}
    written = json.dumps(
        {"version": 3, "resources": RESOURCES, "owed_refresh": OWED, "held_secret": ["file:/etc/a"],
         "catalog": CATALOG, "applied_for": applied_for},
        sort_keys=True,
    )  # fmt: skip
    path.write_text(written)
    state = RunState.load(path)
    assert state.damaged is None and (state.catalog, state.applied_for) == (CATALOG, applied_for)
    state.save()
    assert json.loads(path.read_text()) == json.loads(written)


def test_the_state_is_written_in_pieces_as_one_json_dumps_writes_it(tmp_path: Path) -> None:
    many = {f"file:/srv/f{n:04d}": dict(RESOURCES["file:/etc/a"], at=str(n)) for n in range(2500)}
    data = {"version": 3, "resources": many, "owed_refresh": OWED, "held_secret": [], "catalog": CATALOG,
            "applied_for": None}  # fmt: skip
    whole = json.dumps(data, sort_keys=True).encode()
    for records in (1, 7, 1000):
        assert b"".join(json_pieces(data, records)) == whole
    assert max(len(piece) for piece in json_pieces(data)) < len(whole) / 2
    path = tmp_path / "state.json"
    state = RunState(path, tmp_path / "state.key")
    state.resources, state.owed, state.catalog = many, OWED, CATALOG
    state.save()
    assert path.read_bytes() == whole


def test_a_loaded_state_keeps_one_copy_of_each_repeated_value(tmp_path: Path) -> None:
    catalog = {
        f"file:/srv/f{n}": {"type": "file", "title": f"/srv/f{n}", "undo": {"ensure": "absent"}, "on_drop": None,
                            "requires": ["file:/srv"]}
        for n in range(3)
    } | {
        "x:one": {"type": "x", "title": "one", "undo": {"flag": 1}, "on_drop": None, "requires": []},
        "x:true": {"type": "x", "title": "true", "undo": {"flag": True}, "on_drop": None, "requires": []},
    }  # fmt: skip
    written = json.dumps({"version": 3, "resources": RESOURCES, "owed_refresh": {}, "held_secret": [],
                          "catalog": catalog, "applied_for": None}, sort_keys=True)  # fmt: skip
    path = tmp_path / "state.json"
    path.write_text(written)
    state = RunState.load(path)
    assert (state.catalog, state.resources) == (catalog, RESOURCES)
    files = [state.catalog[f"file:/srv/f{n}"] for n in range(3)]
    assert all(r["undo"] is files[0]["undo"] and r["requires"] is files[0]["requires"] for r in files)
    one, true = state.catalog["x:one"]["undo"], state.catalog["x:true"]["undo"]
    assert (one, type(one["flag"]), type(true["flag"])) == ({"flag": 1}, int, bool)
    state.save()
    assert path.read_text() == written


def test_a_save_that_changes_nothing_leaves_the_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = RunState(path, tmp_path / "state.key")
    state.resources = dict(RESOURCES)
    state.save()
    first = path.stat().st_ino
    state.save()
    assert path.stat().st_ino == first and sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    state.forget("exec:restart")
    state.save()
    assert path.stat().st_ino != first and json.loads(path.read_text())["resources"] == {
        "file:/etc/a": RESOURCES["file:/etc/a"]
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_resource_that_held_a_secret_stays_held_until_recorded_without_one(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = RunState.load(path)
    state.record("file:/etc/a", "d" * 64, "changed", "2026-12-02T00:00:00.000Z", sensitive=True)
    state.record("file:/etc/b", "d" * 64, "changed", "2026-12-02T00:00:00.000Z", sensitive=False)
    state.save()
    loaded = RunState.load(path)
    assert loaded.held_secret("file:/etc/a") and not loaded.held_secret("file:/etc/b")
    assert not loaded.held_secret("file:/etc/never")
    assert json.loads(path.read_text())["held_secret"] == ["file:/etc/a"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"version": 1, "resources": {', "not JSON: Expecting property name"),
        (b'{"a\xc3\x28": 1}', "not UTF-8 text"),
        (b"", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"[1, 2]", "a JSON list where a state object belongs"),
        (b'{"version": 1, "resources": {"file:/a": "x"}}', "'resources' is not a map of resource records"),
        (b'{"version": 1, "owed_refresh": {"exec:x": "file:/a"}}', "'owed_refresh' is not a map of resource lists"),
        (b'{"version": 7, "resources": {}}', "format version 7 is newer than this tend reads (3)"),
        (b'{"version": 3, "held_secret": "file:/a"}', "'held_secret' is not a list of resource ids"),
        (b'{"version": 3, "catalog": {"file:/a": {"type": "file"}}}', "'catalog' is not a map of managed resources"),
        (b'{"version": 3, "catalog": {}, "applied_for": [1]}', "'applied_for' is not a repository and host"),
        (b'{"version": "1"}', "the format version '1' is not a version number"),
        (b'{"version": true}', "the format version True is not a version number"),
    ],
    ids=[
        "truncated",
        "binary",
        "empty",
        "list",
        "resources",
        "owed",
        "future",
        "held",
        "catalog",
        "applied-for",
        "string-version",
        "bool-version",
    ],
)
def test_a_damaged_file_is_moved_aside_and_kept(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    state = RunState.load(path, now=AT)
    assert state.damaged is not None
    assert state.damaged.reason.startswith(reason)
    aside = tmp_path / "state.json.damaged-20261203T101500Z"
    assert state.damaged.path == path and state.damaged.moved_to == aside
    assert aside.read_bytes() == content and not path.exists()
    assert (state.resources, state.owed) == ({}, {})


def test_a_second_damage_in_the_same_second_keeps_both(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for content in (b"one", b"two"):
        path.write_bytes(content)
        RunState.load(path, now=AT)
    assert (tmp_path / "state.json.damaged-20261203T101500Z").read_bytes() == b"one"
    assert (tmp_path / "state.json.damaged-20261203T101500Z.1").read_bytes() == b"two"


def test_noop_leaves_a_damaged_file_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"{")
    state = RunState.load(path, read_only=True, now=AT)
    assert state.damaged is not None and state.damaged.moved_to is None
    assert path.read_bytes() == b"{" and not list(tmp_path.glob("*.damaged-*"))


def test_a_missing_file_is_no_damage(tmp_path: Path) -> None:
    state = RunState.load(tmp_path / "state.json")
    assert state.damaged is None and state.resources == {}


def test_the_ledger_recalls_drift_as_the_last_run_left_it(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = RunState.load(path)
    same, moved = state.digest({"content": "a"}), state.digest({"content": "b"})
    for rid in ("file:/same", "file:/failed", "file:/moved", "file:/not-reported"):
        state.record(rid, same, "changed", "t", sensitive=False)
    state.save()
    state.save_ledger("00000007-x", ["file:/same", "file:/failed", "file:/moved", "file:/not-reported"])
    assert json.loads((tmp_path / LEDGER).read_text())["run_id"] == "00000007-x"

    path.write_text("damaged")
    fresh = RunState.load(path, now=AT)
    ledger = fresh.ledger()
    assert ledger is not None and ledger[0] == "00000007-x"
    statuses = {"file:/same": "unchanged", "file:/failed": "failed", "file:/moved": "changed"}
    assert fresh.recall(ledger[1], statuses) == 3
    assert fresh.drifted("file:/same", same, out_of_sync=True)
    assert not fresh.drifted("file:/same", same, out_of_sync=False)
    assert not fresh.drifted("file:/failed", same, out_of_sync=True)  # not in sync at the end of that run
    assert not fresh.drifted("file:/moved", moved, out_of_sync=True)  # its desired state changed since
    assert not fresh.drifted("file:/not-reported", same, out_of_sync=True)  # its status is unknown


@pytest.mark.parametrize("content", ["nonsense", '{"version": 1, "run_id": 5, "desired": {}}', '{"version": 9}'])
def test_an_unusable_ledger_recalls_nothing(tmp_path: Path, content: str) -> None:
    (tmp_path / LEDGER).write_text(content)
    assert RunState.load(tmp_path / "state.json").ledger() is None


def test_upgrade_refuses_what_is_no_state() -> None:
    with pytest.raises(Damaged, match="a JSON str where a state object belongs"):
        upgrade("state")
