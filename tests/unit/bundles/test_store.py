"""The bundle store's records: converged_since kept from the first clean converge, pruning that keeps the
current and the last good bundle (files in a temporary directory only)."""

from __future__ import annotations

from pathlib import Path

from agent.bundles.store import BundleRecord, BundleStore


def _store(tmp_path: Path, count: int) -> tuple[BundleStore, list[str]]:
    store = BundleStore(tmp_path / "bundles")
    commits = [f"{n:040x}" for n in range(1, count + 1)]
    for sequence, commit in enumerate(commits, 1):
        (store.path(commit)).mkdir(parents=True)
        (store.path(commit) / "hiera.yaml").write_text("version: 5\n")
        store.save_record(BundleRecord(commit, "F" * 40, "2030-01-01T00:00:00+00:00", sequence=sequence))
    return store, commits


def test_converged_since_is_the_first_clean_converge(tmp_path: Path) -> None:
    store, (commit,) = _store(tmp_path, 1)
    store.mark_good(commit, "2030-01-01T00:10:00.000Z")
    store.mark_good(commit, "2030-01-01T00:40:00.000Z")
    record = store.record(commit)
    assert record is not None and record.converged_since == "2030-01-01T00:10:00.000Z"
    assert record.to_report()["converged_since"] == "2030-01-01T00:10:00.000Z"


def test_pruning_keeps_the_current_and_the_last_good_bundle(tmp_path: Path) -> None:
    store, commits = _store(tmp_path, 8)
    store.mark_good(commits[0])
    store.switch(commits[1])
    store.prune(keep=3)
    kept = {record.commit for record in store.history()}
    assert kept == {commits[0], commits[1], *commits[-3:]}
    assert all(store.path(commit).is_dir() for commit in kept)
    assert not store.path(commits[2]).exists()
