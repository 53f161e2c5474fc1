"""kill -9 at random points of a run: nothing partial, nothing left behind, refreshes owed are delivered.

A site of 200 files, 20 package-like exec resources that write into a state-like folder (real
packages need root and apt; the dpkg lock has its own test), and a notify chain: a config file
notifies a refreshonly exec that appends what it sees in the config to a log. It runs without
--root (so the execs run on the host), every path under tmp_path.

Each round moves the site to the next generation: a run is killed with SIGKILL after a seeded
random delay, then the next run must converge and the run after it must find nothing to do.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

from tests.faults.conftest import SEED, Site, rng_for, scaled, temp_files, wait_for_orphans

FILES = 200
PACKAGES = 20
VARIANTS = 3  # file contents cycle through three versions, so the bucket stays small over 200 rounds
LINES = 60
# A package-like change: the version written to a state file, replaced whole (as dpkg updates its database).
INSTALL = 'printf "%s\\n" "$1" > "$2.new" && mv "$2.new" "$2"'


def content(index: int, gen: int) -> bytes:
    return (f"file {index} variant {gen % VARIANTS} " + "x" * 100 + "\n").encode() * LINES


def mode(gen: int) -> int:
    return 0o640 if gen % 2 else 0o644


def crash_site(site: Site, out: Path) -> None:
    """The manifest: every value follows the fact `gen`."""
    files = "\n".join(
        f"""  - file: {out}/files/f{i:03d}
    content: "{{{{ ('file {i} variant ' ~ (facts.gen % {VARIANTS}) ~ ' ' ~ 'x' * 100 ~ '\\n') * {LINES} }}}}"
    mode: "{{{{ '0640' if facts.gen % 2 else '0644' }}}}"
"""
        for i in range(FILES)
    )
    packages = "\n".join(
        f"""  - exec: package-{k:02d}
    command: [/bin/sh, -c, '{INSTALL}', sh, "{{{{ facts.gen }}}}", {out}/pkgs/p{k:02d}]
    unless: [/bin/grep, -qxF, "{{{{ facts.gen }}}}", {out}/pkgs/p{k:02d}]
"""
        for k in range(PACKAGES)
    )
    # The exec logs the generation it finds in the config: a refresh delivered late shows the new one.
    conf = f"""  - file: {out}/app.conf
    content: "generation {{{{ facts.gen }}}}\\n"
    notify: exec:reload
"""
    reload = f"""  - exec: reload
    command: [/bin/sh, -c, 'cat "$1" >> "$2"', sh, {out}/app.conf, {out}/reload.log]
    refreshonly: true
"""
    dirs = "\n".join(f"  - file: {out}{sub}\n    ensure: directory" for sub in ("", "/files", "/pkgs"))
    # The config changes first and its refresh comes last, so many kills fall while a refresh is owed.
    site.manifest(f"resources:\n{dirs}\n{conf}{files}\n{packages}\n{reload}")


def check_files(out: Path, old: int, new: int) -> tuple[int, int]:
    """Every managed file holds the old or the new content, with the old or the new mode; how many are new."""
    partial, changed = [], 0
    for i in range(FILES):
        path = out / "files" / f"f{i:03d}"
        data = path.read_bytes()
        st = os.stat(path)
        if data not in (content(i, old), content(i, new)) or stat.S_IMODE(st.st_mode) not in (mode(old), mode(new)):
            partial.append(f"{path.name}: {len(data)} bytes, mode {stat.S_IMODE(st.st_mode):o}")
        changed += data == content(i, new)
    for k in range(PACKAGES):
        text = (out / "pkgs" / f"p{k:02d}").read_text()
        if text not in (f"{old}\n", f"{new}\n"):
            partial.append(f"p{k:02d}: {text!r}")
    conf = (out / "app.conf").read_text()
    if conf not in (f"generation {old}\n", f"generation {new}\n"):
        partial.append(f"app.conf: {conf!r}")
    assert not partial, f"partial or unexpected content after a kill (seed {SEED}): {partial[:5]}"
    return len(partial), changed


def parse_records(state: Path) -> None:
    """state.json and every report parse as JSON."""
    json.loads((state / "state.json").read_text())
    for report in (state / "reports").glob("*.json"):
        json.loads(report.read_text())


def test_kill_9_at_random_points(host_site: Site, tmp_path: Path, figures) -> None:
    rounds = scaled(12, 200)
    rng = rng_for("kill9")
    out = tmp_path / "out"
    crash_site(host_site, out)
    log = out / "reload.log"
    assert host_site.apply("--fact", "gen=0").returncode == 2
    assert host_site.apply("--fact", "gen=1").returncode == 2  # the bucket's folders are made by now
    timed = time.monotonic()
    assert host_site.apply("--fact", "gen=2").returncode == 2
    duration = time.monotonic() - timed  # a whole run that changes everything, as each round's does
    tally = {"runs": 3, "run_s": round(duration, 2), "kills": 0}
    tally |= {"killed_before_any_change": 0, "killed_mid_way": 0, "killed_after_the_files": 0}
    tally |= {"partial_files": 0, "temp_files_after_next_run": 0, "owed_at_kill": 0, "refresh_late": 0}
    tally |= {"orphans_waited": 0}
    state_temps: set[Path] = set()  # never cleaned: see test_stale_temp_files_in_the_state_dir_are_cleaned
    for gen in range(3, rounds + 3):
        lines_before = log.read_text().count("\n")
        child = host_site.start("--fact", f"gen={gen}")
        # Anywhere from Python's start-up to after the last change.
        time.sleep(rng.uniform(0.05, 1.05) * duration)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        tally["kills"] += child.returncode == -signal.SIGKILL
        tally["runs"] += 1
        tally["orphans_waited"] += wait_for_orphans(str(out))

        partial, changed = check_files(out, gen - 1, gen)
        tally["partial_files"] += partial
        conf_changed = (out / "app.conf").read_text() == f"generation {gen}\n"
        refreshed = log.read_text().count("\n") > lines_before
        owed = json.loads((host_site.state / "state.json").read_text())["owed_refresh"]
        tally["owed_at_kill"] += bool(owed)
        if conf_changed and not refreshed:
            tally["refresh_late"] += 1
            assert owed == {"exec:reload": [f"file:{out}/app.conf"]}, f"the refresh owed is not recorded: {owed}"
        key = "killed_before_any_change" if not changed else "killed_mid_way"
        key = "killed_after_the_files" if changed == FILES and conf_changed else key
        tally[key] += 1
        state_temps.update(temp_files(host_site.state))

        recovery = host_site.apply("--fact", f"gen={gen}")
        tally["runs"] += 1
        assert recovery.returncode in (0, 2), f"seed {SEED}, round {gen}: {recovery}"
        leftovers = temp_files(out)
        tally["temp_files_after_next_run"] += len(leftovers)
        assert not leftovers, f"seed {SEED}, round {gen}: temp files left: {leftovers[:3]}"
        parse_records(host_site.state)
        assert log.read_text().splitlines()[-1] == f"generation {gen}", f"seed {SEED}, round {gen}: refresh lost"
        assert host_site.state_json()["owed_refresh"] == {}

        again = host_site.apply("--fact", f"gen={gen}")
        tally["runs"] += 1
        assert again.returncode == 0, f"seed {SEED}, round {gen}: not in sync after the recovery run: {again}"
        assert check_files(out, gen, gen)[0] == 0
    figures(rounds=rounds, **tally, state_dir_temp_files_left=len(state_temps))


def _plant(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"half": ')
    return path


def test_stale_temp_files_in_the_state_dir_are_cleaned(host_site: Site, tmp_path: Path) -> None:
    """What the kill loop finds (its `state_dir_temp_files_left` figure), made deterministic."""
    out = tmp_path / "out"
    host_site.manifest(f"resources:\n  - file: {out}\n    ensure: directory\n  - file: {out}/a\n    content: one\n")
    assert host_site.apply().returncode == 2
    state = host_site.state
    planted = [
        _plant(state / ".state.json.tend-0a1b2c"),
        _plant(state / "reports" / ".last_run.json.tend-0a1b2c"),
        _plant(state / "bucket" / "ab" / f".{'ab' * 32}.tend-0a1b2c"),
    ]
    host_site.manifest(f"resources:\n  - file: {out}\n    ensure: directory\n  - file: {out}/a\n    content: two\n")
    run = host_site.apply()
    assert run.returncode == 2, run
    assert [p for p in planted if p.exists()] == []


def test_a_stale_temp_next_to_a_file_already_in_sync_is_cleaned(host_site: Site, tmp_path: Path) -> None:
    """A run killed on its way to B leaves `.a.tend-…`; the admin reverts to A, which the file still holds."""
    out = tmp_path / "out"
    host_site.manifest(f"resources:\n  - file: {out}\n    ensure: directory\n  - file: {out}/a\n    content: A\n")
    assert host_site.apply().returncode == 2
    stale = _plant(out / ".a.tend-0a1b2c")
    run = host_site.apply()
    assert run.returncode == 0, run
    assert not stale.exists()


EDITED = 40


def edited(index: int, gen: int) -> tuple[bytes, bytes]:
    """A file edited by a line (and its ini twin by a setting) in generation `gen`: the lines around them stay."""
    filler = f"# file {index}\n".encode() + b"keep = this line\n" * LINES
    return (filler + f"value = {gen}\n".encode() + filler, filler + f"[s]\nvalue = {gen}\n".encode())


def test_kill_9_during_edits_leaves_each_file_old_or_new(host_site: Site, tmp_path: Path, figures) -> None:
    """Lines and ini settings of many files, each rewritten at every generation, killed at random points."""
    rounds = scaled(5, 60)
    rng = rng_for("kill9-edits")
    out = tmp_path / "edits"
    out.mkdir()
    for i in range(EDITED):
        line_file, ini_file = edited(i, 0)
        (out / f"l{i:03d}").write_bytes(line_file)
        (out / f"i{i:03d}.ini").write_bytes(ini_file)
    lines = "".join(
        f'  - line: "edit {i}"\n    path: {out}/l{i:03d}\n    text: "value = {{{{ facts.gen }}}}"\n'
        f"    match: ^value =\n"
        f'  - ini: "ini {i}"\n    path: {out}/i{i:03d}.ini\n    section: s\n    setting: value\n'
        f'    value: "{{{{ facts.gen }}}}"\n'
        for i in range(EDITED)
    )
    host_site.manifest(f"resources:\n  - file: {out}\n    ensure: directory\n{lines}")
    timed = time.monotonic()
    assert host_site.apply("--fact", "gen=1").returncode == 2
    duration = time.monotonic() - timed
    partial = 0
    for gen in range(2, rounds + 2):
        child = host_site.start("--fact", f"gen={gen}")
        time.sleep(rng.uniform(0.05, 1.05) * duration)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        for i in range(EDITED):
            for name, which in ((f"l{i:03d}", 0), (f"i{i:03d}.ini", 1)):
                data = (out / name).read_bytes()
                partial += data not in (edited(i, gen - 1)[which], edited(i, gen)[which])
        assert partial == 0, f"seed {SEED}, round {gen}: an edited file is neither old nor new"
        assert host_site.apply("--fact", f"gen={gen}").returncode in (0, 2)
        assert not temp_files(out), f"seed {SEED}, round {gen}: temp files left"
        assert host_site.apply("--fact", f"gen={gen}").returncode == 0
    figures(rounds=rounds, edited_files=2 * EDITED, partial_files=partial)
