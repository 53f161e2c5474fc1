"""`tend lookup --reveal` with the host keyring is a decryption like any other: it is logged first."""

from __future__ import annotations

import json

from tests.integration.secrets_e2e.conftest import PLAIN, leaks


def test_reveal_with_the_host_keyring_appends_to_the_audit_log(site):
    state = site.state("db1")
    done = site.tend("lookup", "db::password", "--host", "db1", "--reveal", "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert done.stdout == PLAIN["db::password"] + "\n"
    log = state / "audit.log"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["key"], e["file"], e["host"], e["command"]) for e in entries] == [
        ("db::password", "hieradata/roles/db.yaml", "db1", "lookup --reveal")
    ]
    assert not leaks(log.read_text()) and not leaks((state / "audit.log.head").read_text())
    verified = site.tend("audit", "verify", "--state-dir", str(state))
    assert verified.returncode == 0 and "1 reads, chain intact" in verified.stdout, verified.stderr


def test_reveal_with_an_admin_keyring_does_not_touch_the_host_log(site):
    state = site.state("db1")
    done = site.admin("lookup", "db::password", "--host", "db1", "--reveal", "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert not (state / "audit.log").exists()


def test_a_reveal_that_cannot_be_logged_prints_nothing(site):
    state = site.state("db1")
    (state / "audit.log").mkdir()  # not a file: the append fails
    done = site.tend("lookup", "db::password", "--host", "db1", "--reveal", "--state-dir", str(state))
    assert done.returncode == 1 and done.stdout == ""
    assert "audit log" in done.stderr and not leaks(done.stderr)
