"""A run with many secrets decrypts exactly the values its catalog uses, several gpg processes at once, and reads
and audits them as the one-at-a-time path does (TEND_GPG_JOBS=1 forces that path).

What gpg was asked to do is read from `strace -f -e trace=execve` of the run (each `gpg --decrypt` and its exit),
never from tend's own word: the count of decryptions, and how many ran at once (by the order of the events, not
by a clock).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.system.commands import DEFAULT_ENV
from tests.conftest import PROJECT
from tests.integration.secrets_e2e.conftest import ADMIN, Keyring, Site, leaks, start_agent

HOST = "db1"
MANY = 12
USED = {f"vault::s{n:02d}": f"LEAK-{n:02d}-vault-do-not-print" for n in range(1, MANY + 1)}
SPARE = ("vault::spare", "LEAK-spare-addressed-to-db1-unused-do-not-print")
EVERY = {**USED, SPARE[0]: SPARE[1]}
DATA_FILE = "hieradata/roles/db.yaml"
TRACED = shutil.which("strace") is not None
GPG = shutil.which("gpg", path=DEFAULT_ENV["PATH"])


def enc(keyring: Keyring, plaintext: str, *, corrupt: bool = False) -> str:
    message = keyring.encrypt(plaintext, [HOST, ADMIN])
    if corrupt:  # the recipients stay readable; the encrypted body no longer decrypts
        message = message[:-8] + bytes(b ^ 0x5A for b in message[-8:])
    return f"ENC[GPG,{base64.b64encode(message).decode()}]"


def write_vault(site: Site, *, corrupt: str | None = None) -> None:
    """db1's role data gets MANY values and one spare (all encrypted to db1); class vault renders each used one."""
    data = "".join(f"{key}: {enc(site.keyring, value, corrupt=key == corrupt)}\n" for key, value in EVERY.items())
    resources = "".join(f"  - file: /etc/e2e/{key[7:]}\n    content: \"{{{{ lookup('{key}') }}}}\"\n" for key in USED)
    existing = (site.repo / DATA_FILE).read_text().replace("classes: [db]", "classes: [db, vault]")
    site.write({DATA_FILE: existing + data, "manifests/vault.yaml": f"resources:\n{resources}"})


def traced_apply(site: Site, jobs: int, log: Path) -> subprocess.CompletedProcess[str]:
    """`tend apply --json` as db1 under strace (exits kept, unlike conftest's run_tend), with TEND_GPG_JOBS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_") and k != "GNUPGHOME"}
    env.update(
        TEND_CONFIG="/dev/null", TEND_FACTS_FILE="/nonexistent/facts.yaml", TEND_FACTS_DIR="/nonexistent/facts.d",
        HOME=str(site.home), PYTHONPATH=str(PROJECT), TEND_GPG_JOBS=str(jobs),
    )  # fmt: skip
    state = site.base / f"s-{jobs}"
    if not state.exists():
        shutil.copytree(site.state(HOST), state, ignore=shutil.ignore_patterns("S.*", "*.lock"))
        site.own_home(state / "gnupg")
    start_agent(state / "gnupg")  # outside the trace: a daemon started under strace -f would keep it waiting
    argv = [sys.executable, "-m", "agent", "apply", "--repo", str(site.repo), "--host", HOST, "--json"]
    argv += ["--state-dir", str(state), "--root", str(site.root(f"{HOST}-{jobs}"))]
    if TRACED:
        argv = ["strace", "-f", "-q", "-s", "256", "-e", "trace=execve", "-o", str(log), *argv]
    return subprocess.run(argv, cwd=site.repo, env=env, capture_output=True, text=True, timeout=300)


def decryptions(log: Path) -> tuple[int, int]:
    """From an strace log: how many `gpg --decrypt` ran, and the most that were running at one point."""
    running: set[str] = set()
    count = most = 0
    for line in log.read_text().splitlines():
        pid, _, event = line.partition(" ")
        event = event.strip()
        # An execve of the gpg that exists (the others in PATH fail); strace may print its end later.
        if event.startswith(f'execve("{GPG}", [') and '"--decrypt"' in event:
            count += 1
            running.add(pid)
            most = max(most, len(running))
        elif event.startswith("+++ exited") or event.startswith("+++ killed"):
            running.discard(pid)
    return count, most


def audit_entries(site: Site, jobs: int) -> list[dict[str, str]]:
    log = site.base / f"s-{jobs}" / "audit.log"
    keep = ("key", "file", "ciphertext_sha256", "host", "commit")
    return [{k: entry[k] for k in keep} for entry in map(json.loads, log.read_text().splitlines())]


@pytest.mark.skipif(not TRACED, reason="strace is not installed: the gpg processes cannot be counted")
def test_many_secrets_decrypt_in_parallel_exactly_the_used_ones_and_read_as_one_at_a_time(site):
    write_vault(site)
    runs = {jobs: traced_apply(site, jobs, site.base / f"strace-{jobs}.log") for jobs in (4, 1)}
    for done in runs.values():
        assert done.returncode == 0, done.stderr
        assert not leaks(done.stdout + done.stderr, EVERY)
    reports = {jobs: json.loads(done.stdout) for jobs, done in runs.items()}
    read = reports[4]["secrets_read"]
    assert read == reports[1]["secrets_read"]
    assert {r["key"] for r in read} == {*USED, "db::password", "shared::db_token", "site::everyone"}
    assert audit_entries(site, 4) == audit_entries(site, 1)
    assert [(e["key"], e["file"]) for e in audit_entries(site, 4)] == [(r["key"], r["file"]) for r in read]
    assert SPARE[0] not in (site.base / "s-4" / "audit.log").read_text()
    # gpg itself says what was decrypted: one process per value used, the spare never.
    parallel, sequential = decryptions(site.base / "strace-4.log"), decryptions(site.base / "strace-1.log")
    assert parallel[0] == sequential[0] == len(read)
    assert sequential[1] == 1
    assert parallel[1] >= 2
    root = site.root(f"{HOST}-4")
    assert {key: (root / "etc/e2e" / key[7:]).read_text() for key in USED} == USED


def test_a_value_that_fails_to_decrypt_names_its_file_and_key_and_leaks_nothing(site):
    write_vault(site, corrupt="vault::s07")
    done = traced_apply(site, 4, site.base / "strace-fail.log")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert f"{DATA_FILE}" in report["error"] and "`vault::s07`" in report["error"], report["error"]
    assert "could not decrypt" in report["error"]
    assert not (site.root(f"{HOST}-4") / "etc/e2e").exists()  # nothing changed
    state = site.base / "s-4"
    written = "".join(p.read_text(errors="replace") for p in state.rglob("*") if p.is_file() and "gnupg" not in p.parts)
    assert not leaks(done.stdout + done.stderr + written, EVERY)
