"""Each host of the fleet converges with its own keyring and gets exactly its own secrets, nothing more."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.integration.secrets_e2e.conftest import (
    HOSTS,
    PLAIN,
    READERS,
    expected_files,
    kill_agents,
    leaks,
    managed_files,
)

SECRET_FILES = {"etc/e2e/site.token", "etc/e2e/web.key", "etc/e2e/app.env", "etc/e2e/db.env", "etc/e2e/mon.token"}


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_each_host_converges_with_exactly_its_own_secrets(site, host):
    root = site.root(host)
    first = site.converge("apply", host, "--detailed-exitcodes")
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.stderr == ""
    assert managed_files(root) == expected_files(host)
    readable = {key for key, readers in READERS.items() if host in readers}
    present = {key for key, plain in PLAIN.items() if any(plain in text for text in managed_files(root).values())}
    assert present == readable - {"site::unused"}  # what it reads is what it uses
    for relative in expected_files(host):
        assert mode(root / relative) == (0o600 if relative in SECRET_FILES else 0o644), relative
    second = site.converge("apply", host, "--detailed-exitcodes")
    assert second.returncode == 0, second.stdout + second.stderr
    for done in (first, second):
        assert not leaks(done.stdout + done.stderr)


def test_the_report_lists_the_secrets_read_by_key_and_file_and_the_audit_log_chains_them(site):
    done = site.converge("apply", "db1", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    reads = {(r["key"], r["file"]) for r in report["secrets_read"]}
    assert reads == {
        ("db::password", "hieradata/roles/db.yaml"),
        ("shared::db_token", "hieradata/environments/prod.yaml"),
        ("site::everyone", "hieradata/common.yaml"),
    }
    db_env = next(r for r in report["resources"] if r["id"] == "file:/etc/e2e/db.env")
    assert db_env["sensitive"] is True
    assert db_env["changes"] == [{"property": "ensure", "from": "absent", "to": "file"}]
    log = site.state("db1") / "audit.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(entry["key"], entry["file"]) for entry in lines} == reads
    assert mode(log) == 0o600
    verify = site.tend("audit", "verify", "--state-dir", str(site.state("db1")))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert not leaks(done.stdout + log.read_text() + verify.stdout + verify.stderr)


def test_a_host_using_a_value_not_encrypted_for_it_fails_before_any_change(site):
    """web1 shares hieradata/environments/prod.yaml with app1 and db1 but may not read shared::db_token."""
    site.append("manifests/web.yaml", "  - file: /etc/e2e/stolen\n    content: \"{{ lookup('shared::db_token') }}\"\n")
    root = site.root("web1")
    for extra in ((), ("--detailed-exitcodes",), ("--json",)):
        done = site.converge("apply", "web1", *extra)
        assert done.returncode == 1, done.stdout + done.stderr
        message = (
            "`shared::db_token` (hieradata/environments/prod.yaml) is not encrypted for web1; "
            "recipients: app1, db1, ops"
        )
        assert message in (json.loads(done.stdout)["error"] if extra == ("--json",) else done.stderr)
        assert list(root.rglob("*")) == [root / "etc"], "a run that could not compile wrote files"
        assert not leaks(done.stdout + done.stderr)


def test_a_value_outside_the_hosts_hierarchy_is_not_found(site):
    """db::password lives in roles/db.yaml, which web1's hierarchy never reads."""
    site.append("manifests/web.yaml", "  - file: /etc/e2e/stolen\n    content: \"{{ lookup('db::password') }}\"\n")
    root = site.root("web1")
    done = site.converge("apply", "web1", "--detailed-exitcodes")
    assert done.returncode == 1
    assert "did not find a value for 'db::password'" in done.stderr
    assert list(root.rglob("*")) == [root / "etc"]


def test_a_host_without_a_keyring_is_told_to_create_one(site):
    root = site.root("db1")
    done = site.tend("apply", "--host", "db1", "--state-dir", str(site.state("db1", keyring=None)), "--root", str(root))
    assert done.returncode == 1
    assert "holds none (create it with `tend keys init`)" in done.stderr
    assert "recipients: db1, ops" in done.stderr
    assert list(root.rglob("*")) == [root / "etc"]


def test_an_explicit_mode_is_honoured_with_a_warning(site):
    site.append(
        "manifests/db.yaml",
        '  - file: /etc/e2e/open.env\n    content: "{{ lookup(\'db::password\') }}"\n    mode: "0644"\n',
    )
    root = site.root("db1")
    done = site.converge("apply", "db1")
    assert done.returncode == 0, done.stderr
    assert (root / "etc/e2e/open.env").read_text() == PLAIN["db::password"]
    assert mode(root / "etc/e2e/open.env") == 0o644
    assert mode(root / "etc/e2e/db.env") == 0o600
    warning = "tend: warning: manifests/db.yaml:9: file:/etc/e2e/open.env: holds a secret but mode 0644"
    assert warning in done.stderr
    assert not leaks(done.stdout + done.stderr)


def test_a_long_state_dir_leaves_nothing_behind_in_tmp(site):
    state = site.base / ("long-" + "x" * 64) / "db1"
    state.mkdir(parents=True)
    shutil.copytree(site.keyring.home("db1"), state / "gnupg", ignore=shutil.ignore_patterns("S.*", "*.lock"))
    done = site.tend("apply", "--host", "db1", "--state-dir", str(state), "--root", str(site.root("db1")))
    assert done.returncode == 0, done.stderr
    links = [p for p in Path("/tmp").glob("tend-g-*/h") if p.is_symlink() and Path(os.readlink(p)) == state / "gnupg"]
    for link in links:  # clean up what the run left
        kill_agents(link)
        link.unlink()
        link.parent.rmdir()
    kill_agents(state / "gnupg")
    assert links == []
