"""Full disks, exhausted inodes and read-only file systems, on tmpfs mounts in a private mount namespace (root).

Each test runs a shell script under `unshare -m`: it mounts a small tmpfs over a managed folder or the
state directory, runs tend (outputs saved outside the mount), changes the mount, runs tend again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults.conftest import Site, as_run, in_namespace, needs_unshare

pytestmark = needs_unshare

# `tend` as the scripts call it: $1 the name of the outputs (run1 → OUT/run1.json, .err, .code), then arguments.
PRELUDE = """
set -u
OUT=$1; shift
tend() { name=$1; shift; $TEND "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"; echo $? > "$OUT/$name.code"; }
"""


def outputs(out: Path, name: str):
    code = int((out / f"{name}.code").read_text())
    import subprocess

    done = subprocess.CompletedProcess([], code, (out / f"{name}.json").read_text(), (out / f"{name}.err").read_text())
    return as_run(done)


def big_site(site: Site) -> None:
    """The big file comes last: no later write in /etc cleans up what its failure leaves."""
    site.manifest(
        """
        resources:
          - file: /etc/small
            content: "small\\n"
          - file: /srv/other
            content: "other\\n"
          - file: /etc/big
            content: "{{ 'x' * 400000 }}\\n"
        """
    )
    (site.root / "srv").mkdir()


@pytest.mark.parametrize("limit", ["size=256k", "size=1m,nr_inodes=2"], ids=["no-space", "no-inodes"])
def test_a_full_managed_file_system_fails_the_write_and_keeps_the_old_file(
    site: Site, tmp_path: Path, limit: str
) -> None:
    big_site(site)
    out = tmp_path / "out"
    out.mkdir()
    etc = site.path("/etc")
    script = f"""{PRELUDE}
mount -t tmpfs -o {limit} tmpfs {etc}
printf old > {etc}/big
tend full {" ".join(site.argv())}
ls -A {etc} > "$OUT/listing"
cat {etc}/big > "$OUT/big-after"
mount -o remount,size=4m,nr_inodes=100 {etc}
tend freed {" ".join(site.argv())}
tend again {" ".join(site.argv())}
"""
    done = in_namespace(script, str(out))
    assert done.returncode == 0, done

    full = outputs(out, "full")
    assert full.returncode == 6 if limit.startswith("size") else full.returncode in (4, 6), full
    failed = full.result("file:/etc/big")
    assert failed["status"] == "failed"
    assert failed["error"] == f"{etc}/big: cannot write: no space left on device"
    assert full.result("file:/srv/other")["status"] == "changed"  # independent resources still converge
    assert (out / "big-after").read_text() == "old"
    assert ".big.tend-" not in (out / "listing").read_text()
    assert "Traceback" not in full.stderr

    assert outputs(out, "freed").returncode == 2
    assert outputs(out, "again").returncode == 0


def test_a_read_only_managed_file_system_fails_clearly(site: Site, tmp_path: Path) -> None:
    big_site(site)
    out = tmp_path / "out"
    out.mkdir()
    etc = site.path("/etc")
    script = f"""{PRELUDE}
mount -t tmpfs -o size=4m tmpfs {etc}
printf old > {etc}/big
mount -o remount,ro {etc}
tend ro {" ".join(site.argv())}
cat {etc}/big > "$OUT/big-after"
mount -o remount,rw {etc}
tend rw {" ".join(site.argv())}
"""
    done = in_namespace(script, str(out))
    assert done.returncode == 0, done
    ro = outputs(out, "ro")
    assert ro.returncode == 6, ro
    assert ro.result("file:/etc/big")["error"] == f"{etc}/big: cannot write: read-only file system"
    assert ro.result("file:/etc/small")["error"] == f"{etc}/small: cannot write: read-only file system"
    assert (out / "big-after").read_text() == "old"
    assert outputs(out, "rw").returncode == 2


def state_site(site: Site, work: Path) -> None:
    """No --root: an existing file to replace, a new file per generation, an exec logging its generation."""
    site.root = None
    site.manifest(
        f"""
        resources:
          - file: {work}/motd
            content: "{{{{ facts.gen }}}}\\n"
          - file: "{work}/new{{{{ facts.gen }}}}"
            content: "new\\n"
          - exec: record
            command: [/bin/sh, -c, 'echo "$1" >> "$2"', sh, "{{{{ facts.gen }}}}", {work}/exec.log]
            unless: [/bin/grep, -qx, "{{{{ facts.gen }}}}", {work}/exec.log]
        """
    )
    work.mkdir()
    (work / "exec.log").touch()


def snapshot(state: Path) -> dict[str, bytes]:
    return {str(p.relative_to(state)): p.read_bytes() for p in sorted(state.rglob("*")) if p.is_file()}


STATE_SCRIPT = """{prelude}
mkdir -p {state}
mount -t tmpfs -o {limit},mode=0700 tmpfs {state}
tend first {argv} --fact gen=1
cp -a {state} "$OUT/before"
{fill}
tend full {argv} --fact gen=2
cp -a {work} "$OUT/work"
rm -f {state}/filler*
cp -a {state} "$OUT/after"
tend freed {argv} --fact gen=2
tend again {argv} --fact gen=2
"""


def run_with_full_state(site: Site, tmp_path: Path, limit: str, fill: str) -> tuple[Path, Path]:
    work, out = tmp_path / "work", tmp_path / "out"
    state_site(site, work)
    out.mkdir()
    script = STATE_SCRIPT.format(
        prelude=PRELUDE, state=site.state, work=work, limit=limit, fill=fill, argv=" ".join(site.argv())
    )
    done = in_namespace(script, str(out))
    assert done.returncode == 0, done
    return out / "work", out  # the managed files as the run with a full state dir left them


# A disk full to the last block: even the lock's holder line cannot be written.
FILL_SPACE = "dd if=/dev/zero of={state}/filler bs=4k 2>/dev/null || true"
# Out of inodes: the lock file exists and can be written, nothing new can be created.
FILL_INODES = "i=0; while touch {state}/filler$i 2>/dev/null; do i=$((i+1)); done"


def test_a_full_state_dir_refuses_the_run_and_keeps_earlier_records(site: Site, tmp_path: Path) -> None:
    work, out = run_with_full_state(site, tmp_path, "size=256k", FILL_SPACE.format(state=site.state))
    first = outputs(out, "first")
    assert first.returncode == 2, first
    full = outputs(out, "full")
    assert full.returncode == 1, full
    assert full.stdout == ""
    assert f"{site.state}/lock: cannot take the lock: no space left on device" in full.stderr
    assert (work / "motd").read_text() == "1\n" and not (work / "new2").exists()
    assert (work / "exec.log").read_text() == "1\n"
    # What earlier runs recorded is intact, and readable.
    assert snapshot(out / "after") == snapshot(out / "before")
    json.loads((out / "after" / "state.json").read_text())
    assert outputs(out, "freed").returncode == 2
    assert outputs(out, "again").returncode == 0


def test_a_state_dir_out_of_inodes_keeps_earlier_records(site: Site, tmp_path: Path) -> None:
    _, out = run_with_full_state(site, tmp_path, "size=4m,nr_inodes=64", FILL_INODES.format(state=site.state))
    full = outputs(out, "full")
    assert full.returncode == 1, full
    assert "no space left on device" in full.stderr
    assert "Traceback" not in full.stderr
    before, after = snapshot(out / "before"), snapshot(out / "after")
    assert {k: v for k, v in after.items() if k in before} == before, "an earlier record was damaged"
    json.loads((out / "after" / "state.json").read_text())
    freed = outputs(out, "freed")
    assert freed.returncode in (0, 2), freed
    assert outputs(out, "again").returncode == 0


def test_a_state_dir_out_of_inodes_refuses_before_changing_anything(site: Site, tmp_path: Path) -> None:
    work, out = run_with_full_state(site, tmp_path, "size=4m,nr_inodes=64", FILL_INODES.format(state=site.state))
    full = outputs(out, "full")
    assert full.returncode == 1, full
    assert (work / "exec.log").read_text() == "1\n", "the exec ran in a run that could not record it"
    assert not (work / "new2").exists(), "a file was written in a run that could not record it"
    assert (work / "motd").read_text() == "1\n"
