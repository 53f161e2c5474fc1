"""kill -9 while a durability batch (DESIGN §7.5) is between its temp files and their renames.

A site of 300 files in one directory, all rewritten at each generation, so one run's writes wait as
temps in one batch until the end of the catalog. Each round starts a run, waits until a seeded random
number of its temps is on disk (or, in some rounds, until all are and then a little longer, to land in
the syncfs or the renames), and kills it. Then: every file holds the old or the new content with the old
or the new mode, never a part; the state records no change that is not on disk (a noop run finds no
drift); the next run converges and records; the run after it finds nothing to do.
"""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

from tests.faults.conftest import SEED, TEMP_NAME, Site, rng_for, scaled, temp_files

FILES = 300
BASE = "/srv/batch"


def content(index: int, gen: int) -> bytes:
    return (f"file {index} generation {gen} " + "y" * 80 + "\n").encode() * 24


def mode(gen: int) -> int:
    return 0o640 if gen % 2 else 0o644


def batch_site(site: Site) -> None:
    files = "".join(
        f"""  - file: {BASE}/f{i:03d}
    content: "{{{{ ('file {i} generation ' ~ facts.gen ~ ' ' ~ 'y' * 80 ~ '\\n') * 24 }}}}"
    mode: "{{{{ '0640' if facts.gen % 2 else '0644' }}}}"
"""
        for i in range(FILES)
    )
    site.manifest(
        f"resources:\n  - file: /srv\n    ensure: directory\n  - file: {BASE}\n    ensure: directory\n{files}"
    )


def kill_in_batch(child, directory: Path, wanted: int, linger: float, deadline: float) -> int:
    """SIGKILL `child` once `wanted` temps are in `directory` (then after `linger` s); the temps seen."""
    seen = 0
    while child.poll() is None and time.monotonic() < deadline:
        seen = sum(1 for name in os.listdir(directory) if TEMP_NAME.match(name))
        if seen >= wanted:
            time.sleep(linger)
            break
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.communicate()
    return seen


def check_files(directory: Path, old: int, new: int) -> int:
    """Each file old or new, content and mode together never mixed into a part; how many are new."""
    partial, changed = [], 0
    for i in range(FILES):
        path = directory / f"f{i:03d}"
        data, st = path.read_bytes(), os.stat(path)
        which = {content(i, old): old, content(i, new): new}.get(data)
        if which is None or stat.S_IMODE(st.st_mode) != mode(which):
            partial.append(f"{path.name}: {len(data)} bytes, mode {stat.S_IMODE(st.st_mode):o}")
        changed += which == new
    assert not partial, f"partial files after a kill in a batch (seed {SEED}): {partial[:5]}"
    return changed


def test_kill_9_between_temps_and_renames(site: Site, figures) -> None:
    rounds = scaled(6, 40)
    rng = rng_for("kill9-batch")
    batch_site(site)
    directory = site.path(BASE)
    assert site.apply("--fact", "gen=0").returncode == 2
    tally = {"kills": 0, "killed_with_temps": 0, "new_at_kill": 0, "partial_files": 0, "false_records": 0}
    for gen in range(1, rounds + 1):
        child = site.start("--fact", f"gen={gen}")
        lingering = rng.random() < 0.3  # after the last temp: in the syncfs, the renames or the state
        wanted = FILES if lingering else rng.randint(1, FILES)
        seen = kill_in_batch(child, directory, wanted, rng.uniform(0, 0.4) if lingering else 0, time.monotonic() + 60)
        tally["kills"] += child.returncode == -signal.SIGKILL
        tally["killed_with_temps"] += seen > 0
        tally["new_at_kill"] += check_files(directory, gen - 1, gen)

        # A change the state records but the disk lacks would show as drift.
        noop = site.apply("--noop", "--fact", f"gen={gen}")
        drifted = [r["id"] for r in (noop.report or {}).get("resources", []) if r.get("drift")]
        tally["false_records"] += len(drifted)
        assert not drifted, f"seed {SEED}, round {gen}: the state records changes not on disk: {drifted[:3]}"

        recovery = site.apply("--fact", f"gen={gen}")
        assert recovery.returncode in (0, 2), f"seed {SEED}, round {gen}: {recovery}"
        assert not temp_files(directory), f"seed {SEED}, round {gen}: temp files left after the next run"
        assert check_files(directory, gen, gen) == FILES
        recorded = site.state_json()["resources"]
        assert all(recorded[f"file:{BASE}/f{i:03d}"]["status"] in ("changed", "unchanged") for i in range(FILES))
        again = site.apply("--fact", f"gen={gen}")
        assert again.returncode == 0, f"seed {SEED}, round {gen}: not in sync after the recovery run: {again}"
    assert tally["killed_with_temps"] >= 1, f"seed {SEED}: no kill landed inside a batch: {tally}"
    figures(rounds=rounds, files=FILES, **tally)
