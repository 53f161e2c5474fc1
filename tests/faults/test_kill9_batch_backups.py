"""kill -9 while a durability batch holds the bucket's backups, or the writes that undo dropped resources.

Each generation rewrites 150 files in one directory (each old content backed up in the same batch) and
moves 100 `line` edits (`on_drop: remove`) from one set of files to the other: the catalog adds the new
lines to one set, then the dropped lines are undone, in a batch of their own, in the other set. Each round
kills a run at a seeded random point of either batch. Then: every file is old or new, never a part; every
bucket entry is whole (its name is its sha256) and a file that is new has its old content in the bucket; a
noop run finds no drift; the next run takes out every dropped line (the state never forgot a line that was
still in its file) and leaves no temp file, in the root or the bucket; the run after finds nothing to do.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import time
from pathlib import Path

from tests.faults.conftest import SEED, Site, rng_for, scaled, temp_files
from tests.faults.test_kill9_batch import content, kill_in_batch, mode

FILES = 150
EDITS = 100
BASE = "/srv/batch"
UNDO = "/srv/undo"


def base(index: int) -> bytes:
    return f"# edited file {index}\n".encode()


def edited(index: int, gen: int) -> bytes:
    return base(index) + f"u{index} gen {gen}\n".encode()


def edit_set(gen: int) -> str:
    return f"{UNDO}/s{gen % 2}"


def site_for(site: Site) -> None:
    files = "".join(
        f"""  - file: {BASE}/f{i:03d}
    content: "{{{{ ('file {i} generation ' ~ facts.gen ~ ' ' ~ 'y' * 80 ~ '\\n') * 24 }}}}"
    mode: "{{{{ '0640' if facts.gen % 2 else '0644' }}}}"
"""
        for i in range(FILES)
    )
    lines = "".join(
        f"""  - line: "u{i} gen {{{{ facts.gen }}}}"
    path: "{UNDO}/s{{{{ facts.gen % 2 }}}}/e{i:03d}"
    on_drop: remove
"""
        for i in range(EDITS)
    )
    directories = "".join(
        f"  - file: {d}\n    ensure: directory\n" for d in ("/srv", BASE, UNDO, f"{UNDO}/s0", f"{UNDO}/s1")
    )
    site.manifest(f"resources:\n{directories}{files}{lines}")


def check(site: Site, gen: int, bucket: set[str]) -> dict[str, int]:
    """Each file old or new (content and mode together), and a new one backed up; the figures of this kill."""
    partial, unbacked, new = [], [], {"files": 0, "added": 0, "undone": 0}

    def judge(path: Path, old: bytes, fresh: bytes, kind: str, modes: tuple[int, int] | None = None) -> None:
        data = path.read_bytes()
        which = {old: "old", fresh: "new"}.get(data)
        if which is None or (modes is not None and stat.S_IMODE(os.stat(path).st_mode) != modes[which == "new"]):
            partial.append(f"{path}: {len(data)} bytes")
        elif which == "new":
            new[kind] += 1
            if hashlib.sha256(old).hexdigest() not in bucket:
                unbacked.append(str(path))

    for i in range(FILES):
        judge(site.path(f"{BASE}/f{i:03d}"), content(i, gen - 1), content(i, gen), "files", (mode(gen - 1), mode(gen)))
    for i in range(EDITS):
        judge(site.path(f"{edit_set(gen)}/e{i:03d}"), base(i), edited(i, gen), "added")
        judge(site.path(f"{edit_set(gen - 1)}/e{i:03d}"), edited(i, gen - 1), base(i), "undone")
    assert not partial, f"partial files after a kill (seed {SEED}, round {gen}): {partial[:5]}"
    assert not unbacked, f"new files whose old content is not in the bucket (seed {SEED}, round {gen}): {unbacked[:5]}"
    return new


def whole_bucket(bucket: Path) -> set[str]:
    """The digests stored; each entry's name must be the sha256 of its content, 0600 (a part never has a name)."""
    stored, broken = set(), []
    for path in bucket.glob("??/*"):
        if path.name.startswith("."):
            continue  # a temp a killed run left: removed by the next run
        if hashlib.sha256(path.read_bytes()).hexdigest() != path.name or stat.S_IMODE(path.stat().st_mode) != 0o600:
            broken.append(path.name)
        stored.add(path.name)
    assert not broken, f"seed {SEED}: bucket entries that are not whole: {broken[:5]}"
    return stored


def test_kill_9_in_a_batch_of_backups_or_of_undone_edits(site: Site, figures) -> None:
    rounds = scaled(4, 30)
    rng = rng_for("kill9-batch-backups")
    site_for(site)
    for i in range(EDITS):
        for folder in (f"{UNDO}/s0", f"{UNDO}/s1"):
            site.path(folder).mkdir(parents=True, exist_ok=True)
            site.path(f"{folder}/e{i:03d}").write_bytes(base(i))
    assert site.apply("--fact", "gen=0").returncode == 2
    bucket = site.state / "bucket"
    tally = {"kills": 0, "in_undo": 0, "killed_with_temps": 0, "new_files": 0, "lines_added": 0, "lines_undone": 0}
    tally |= {"partial_files": 0, "partial_backups": 0, "unbacked_files": 0, "false_records": 0, "stale_lines": 0}
    for gen in range(1, rounds + 1):
        child = site.start("--fact", f"gen={gen}")
        undo = rng.random() < 0.5
        folder, count = (site.path(edit_set(gen - 1)), EDITS) if undo else (site.path(BASE), FILES)
        lingering = rng.random() < 0.3  # after the last temp: in the syncfs, the renames or the state
        wanted = count if lingering else rng.randint(1, count)
        seen = kill_in_batch(child, folder, wanted, rng.uniform(0, 0.4) if lingering else 0, time.monotonic() + 60)
        tally["kills"] += child.returncode == -signal.SIGKILL
        tally["in_undo"] += undo
        tally["killed_with_temps"] += seen > 0
        new = check(site, gen, whole_bucket(bucket))
        tally["new_files"] += new["files"]
        tally["lines_added"] += new["added"]
        tally["lines_undone"] += new["undone"]

        noop = site.apply("--noop", "--fact", f"gen={gen}")
        drifted = [r["id"] for r in (noop.report or {}).get("resources", []) if r.get("drift")]
        tally["false_records"] += len(drifted)
        assert not drifted, f"seed {SEED}, round {gen}: the state records changes not on disk: {drifted[:3]}"

        recovery = site.apply("--fact", f"gen={gen}")
        assert recovery.returncode in (0, 2), f"seed {SEED}, round {gen}: {recovery}"
        assert not temp_files(site.path("/srv"), bucket), f"seed {SEED}, round {gen}: temp files left"
        stale = [i for i in range(EDITS) if site.path(f"{edit_set(gen - 1)}/e{i:03d}").read_bytes() != base(i)]
        tally["stale_lines"] += len(stale)
        assert not stale, (
            f"seed {SEED}, round {gen}: dropped lines the state forgot before they were undone: {stale[:5]}"
        )
        check(site, gen, whole_bucket(bucket))
        assert all(site.path(f"{edit_set(gen)}/e{i:03d}").read_bytes() == edited(i, gen) for i in range(EDITS))
        again = site.apply("--fact", f"gen={gen}")
        assert again.returncode == 0, f"seed {SEED}, round {gen}: not in sync after the recovery run: {again}"
    assert tally["killed_with_temps"] >= 1, f"seed {SEED}: no kill landed inside a batch: {tally}"
    figures(rounds=rounds, files=FILES, edits=EDITS, **tally)
