"""The compile cache with real secrets (DESIGN §8.19): what it keeps of a catalog that uses secrets is the opaque
compile's list of encrypted values, never a plaintext; a run served from it decrypts, reports and audits exactly
what a run without it does, and converges the same files."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.integration.secrets_e2e.conftest import PLAIN, leaks, managed_files

HOST = "db1"
JOBS = {"TEND_GPG_JOBS": "2"}  # the opaque compile runs (and its result is what is kept) from two jobs up


def cache_files(state: Path) -> dict[str, tuple[int, bytes]]:
    """Each entry with its inode (a compile writes its entry anew, a hit only reads it) and its bytes."""
    cache = state / "cache"
    return {
        str(p.relative_to(cache)): (p.stat().st_ino, p.read_bytes()) for p in sorted(cache.rglob("*")) if p.is_file()
    }


def audited(state: Path, run_id: str) -> list[dict[str, str]]:
    """The audit log's lines of one run, without their chain and time."""
    lines = [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]
    keep = ("key", "file", "ciphertext_sha256", "host", "commit")
    return [{k: line[k] for k in keep} for line in lines if line["run_id"] == run_id]


def test_a_catalog_with_secrets_keeps_no_plaintext_and_reads_and_audits_as_without_the_cache(site) -> None:
    time.sleep(2.1)  # the copied repository ages past the two seconds within which content names a file
    state = site.state(HOST)
    runs = {}
    for name, extra in (("first", ()), ("hit", ()), ("fresh", ("--no-cache",))):
        done = site.converge("apply", HOST, "--json", *extra, root=site.root(f"{HOST}-{name}"), env=JOBS)
        assert done.returncode in (0, 2), done.stdout + done.stderr
        assert not leaks(done.stdout + done.stderr)
        runs[name] = json.loads(done.stdout)
        if name == "first":
            kept = cache_files(state)
    catalogs = [data for name, (_, data) in kept.items() if "/" not in name]  # besides: inventory/, checked
    assert len(catalogs) == 1 and b"secrets" in catalogs[0]
    assert cache_files(state) == kept, "the hit and --no-cache wrote no entry"
    for _, data in kept.values():
        assert not leaks(data), "a plaintext in the cache"
        assert not any(value.encode() in data for value in PLAIN.values())
    read = runs["first"]["secrets_read"]
    assert {r["key"] for r in read} == {"db::password", "shared::db_token", "site::everyone"}
    assert runs["hit"]["secrets_read"] == runs["fresh"]["secrets_read"] == read
    audits = [audited(state, runs[name]["run_id"]) for name in ("first", "hit", "fresh")]
    assert audits[0] == audits[1] == audits[2] and len(audits[0]) == len(read)
    files = [managed_files(site.root(f"{HOST}-{name}")) for name in ("first", "hit", "fresh")]
    assert files[0] == files[1] == files[2] and files[0]
