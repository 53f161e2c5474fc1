"""The durability batch on real files (DESIGN §7.5, §8.16): temps first, renames at the flush, and every
read, listing or command that could see a waiting write ends the batch first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.errors import HostError
from agent.system import Bucket, Root, System, batch
from agent.system.paths import CachedWalker
from tests.faults.conftest import TEMP_NAME


@pytest.fixture
def system(tmp_path: Path) -> System:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    return System(Root(root), Bucket(tmp_path / "bucket"), command_timeout=10)


def temps(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if TEMP_NAME.match(name))


def write(system: System, managed: str, data: bytes, owner: str = "file:x") -> Path:
    path = system.resolve(managed)
    system.acting_for(owner)
    system.write_atomic(path, data, mode=0o640)
    return path


def test_batched_writes_wait_as_temps_until_sync(system: System) -> None:
    etc = system.root.path / "etc"
    (etc / "a").write_bytes(b"old a")
    for name in ("a", "b", "c"):
        write(system, f"/etc/{name}", f"new {name}".encode())
    assert (etc / "a").read_bytes() == b"old a" and not (etc / "b").exists()
    assert len(temps(etc)) == 3
    system.sync()
    assert [(etc / n).read_bytes() for n in "abc"] == [b"new a", b"new b", b"new c"]
    assert temps(etc) == [] and oct((etc / "b").stat().st_mode & 0o777) == "0o640"
    assert system.failed_writes() == {}


def test_without_an_owner_a_write_is_renamed_at_once(system: System) -> None:
    write(system, "/etc/a", b"now", owner=None)  # type: ignore[arg-type]
    assert (system.root.path / "etc/a").read_bytes() == b"now"


def test_reading_a_waiting_path_ends_the_batch(system: System) -> None:
    path = write(system, "/etc/a", b"new")
    write(system, "/etc/b", b"other")
    assert system.read_bytes(path) == b"new"
    assert (system.root.path / "etc/b").read_bytes() == b"other"  # the whole batch, not just that file


def test_a_second_write_of_the_same_path_ends_the_batch_first(system: System) -> None:
    path = write(system, "/etc/a", b"first")
    write(system, "/etc/a", b"second")
    assert path.read_bytes() == b"first" and len(temps(path.parent)) == 1
    system.sync()
    assert path.read_bytes() == b"second" and temps(path.parent) == []


def test_listing_or_removing_a_directory_holding_a_waiting_write_ends_the_batch(system: System) -> None:
    write(system, "/etc/a", b"new")
    assert system.entries(system.root.path / "etc") == ["a", "group", "passwd"]
    write(system, "/etc/b", b"new")
    assert system.list_directory(system.root.path / "etc") == ["a", "b", "group", "passwd"]


def test_reading_the_state_of_the_directory_alone_does_not_end_the_batch(system: System) -> None:
    write(system, "/etc/a", b"new")
    system.read_state(system.root.path / "etc")
    assert temps(system.root.path / "etc")


def test_a_command_ends_the_batch(system: System) -> None:
    path = write(system, "/etc/a", b"seen by the command")
    result = system.run(["cat", str(path)])
    assert result.stdout == b"seen by the command"


def test_a_validated_write_ends_the_batch_and_is_renamed_at_once(system: System) -> None:
    first = write(system, "/etc/a", b"batched")
    seen: list[bytes] = []
    second = system.resolve("/etc/b")
    system.write_atomic(second, b"validated", mode=0o644, validate=lambda temp: seen.append(first.read_bytes()))
    assert seen == [b"batched"] and second.read_bytes() == b"validated"


def test_a_waiting_write_of_passwd_is_flushed_before_a_name_is_looked_up(system: System) -> None:
    write(system, "/etc/passwd", b"root:x:0:0::/:/bin/sh\napp:x:1200:1200::/:/bin/sh\n")
    assert system.uid_of("app") == 1200


def test_the_batch_flushes_itself_at_its_bounds(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_FILES", 4)
    monkeypatch.setattr(batch, "MAX_DIRECTORIES", 3)
    etc = system.root.path / "etc"
    for n in range(5):
        write(system, f"/etc/f{n}", b"x")
    assert len(temps(etc)) == 1  # the fifth began a new batch
    system.sync()
    baseline = len(os.listdir("/proc/self/fd"))
    held = []
    for n in range(10):
        (etc / f"d{n}").mkdir()
        write(system, f"/etc/d{n}/f", b"y")
        held.append(len(os.listdir("/proc/self/fd")) - baseline)
    assert max(held) <= 3 + CachedWalker.KEEP, held  # the batch's, and the directories the walker keeps
    system.sync()
    assert all((etc / f"d{n}/f").read_bytes() == b"y" for n in range(10))


def test_without_syncfs_each_temp_is_fsynced(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "_syncfs", lambda directory: False)
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    for name in ("a", "b"):
        write(system, f"/etc/{name}", b"new")
    system.sync()
    assert (system.root.path / "etc/b").read_bytes() == b"new"
    assert len(synced) >= 3  # each temp, then the directory


def test_a_rename_that_fails_at_the_flush_keeps_the_old_file_and_names_its_owner(system: System) -> None:
    etc = system.root.path / "etc"
    write(system, "/etc/a", b"new a", owner="file:/etc/a")
    write(system, "/etc/b", b"new b", owner="file:/etc/b")
    (etc / "b").mkdir()  # something put a directory in the way after the check
    (etc / "b" / "inside").write_bytes(b"")
    system.sync()
    failures = system.failed_writes()
    assert list(failures) == ["file:/etc/b"] and str(etc / "b") in str(failures["file:/etc/b"])
    assert (etc / "a").read_bytes() == b"new a" and (etc / "b").is_dir()
    assert temps(etc) == [] and system.failed_writes() == {}


def bucket_entries(system: System) -> dict[str, bytes]:
    assert system.bucket is not None
    base = system.bucket.directory
    return {p.name: p.read_bytes() for p in base.rglob("*") if p.is_file()} if base.exists() else {}


def test_backups_wait_in_the_batch_and_are_stored_before_any_write_is_renamed(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = system.root.path / "etc"
    for name in ("a", "b"):
        (etc / name).write_bytes(f"old {name}".encode())
    system.acting_for("file:x")
    for name in ("a", "b"):
        assert system.backup(f"old {name}".encode()) is not None
        write(system, f"/etc/{name}", f"new {name}".encode())
    assert all(TEMP_NAME.match(name) for name in bucket_entries(system))  # nothing stored under a digest yet
    renames: list[str] = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(os, "replace", lambda src, dst, **kw: (renames.append(dst), real_replace(src, dst, **kw))[1])
    fsyncs: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    system.sync()
    stored = bucket_entries(system)
    assert sorted(stored.values()) == [b"old a", b"old b"] and renames[2:] == ["a", "b"]
    assert len(fsyncs) == 1  # /etc once: the backups' data and renames are made durable by syncfs
    assert [(etc / n).read_bytes() for n in "ab"] == [b"new a", b"new b"]
    assert all(oct((p.stat().st_mode) & 0o777) == "0o600" for p in system.bucket.directory.rglob("??/*"))


def test_without_syncfs_each_backup_and_its_directory_is_fsynced(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "_syncfs", lambda directory: False)
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    system.acting_for("file:x")
    system.backup(b"old a")
    write(system, "/etc/a", b"new a")
    system.sync()
    assert list(bucket_entries(system).values()) == [b"old a"]
    # The bucket on creating its new directory; then the temp and the backup, the backup's directory, /etc.
    assert len(synced) == 5


def test_a_backup_that_fails_at_the_flush_keeps_its_owners_files_old(system: System) -> None:
    etc = system.root.path / "etc"
    (etc / "a").write_bytes(b"old a")
    system.acting_for("file:/etc/a")
    digest = system.backup(b"old a")
    write(system, "/etc/a", b"new a", owner="file:/etc/a")
    write(system, "/etc/b", b"new b", owner="file:/etc/b")
    assert system.bucket is not None and digest is not None
    blocked = system.bucket.directory / digest[:2] / digest
    blocked.mkdir()  # something in the way of the backup's rename
    (blocked / "inside").write_bytes(b"")
    system.sync()
    failures = system.failed_writes()
    assert list(failures) == ["file:/etc/a"] and "back up" in str(failures["file:/etc/a"])
    assert (etc / "a").read_bytes() == b"old a" and (etc / "b").read_bytes() == b"new b"
    assert temps(etc) == [] and temps(blocked.parent) == []


def test_a_removal_stores_the_waiting_backups_first_and_is_refused_when_its_own_failed(system: System) -> None:
    etc = system.root.path / "etc"
    for name in ("a", "b"):
        (etc / name).write_bytes(f"old {name}".encode())
    system.acting_for("file:/etc/a")
    system.backup(b"old a")
    assert system.remove(etc / "a")
    assert list(bucket_entries(system).values()) == [b"old a"]

    system.acting_for("file:/etc/b")
    digest = system.backup(b"old b")
    assert system.bucket is not None and digest is not None
    blocked = system.bucket.directory / digest[:2] / digest
    blocked.mkdir(parents=True)
    (blocked / "inside").write_bytes(b"")
    with pytest.raises(HostError, match="back up"):
        system.remove(etc / "b")
    assert (etc / "b").read_bytes() == b"old b"
