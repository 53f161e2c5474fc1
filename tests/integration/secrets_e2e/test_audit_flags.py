"""`tend secrets audit` flags each kind of problem with exit 1 and the command that fixes it."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.integration.secrets_e2e.conftest import ADMIN, NO_PASSPHRASE, leaks


def without_unused(site) -> None:
    """The fleet's one deliberately unused value, dropped so that the site audits clean."""
    path = site.repo / "hieradata/common.yaml"
    path.write_text(re.sub(r"site::unused: >\n(  .*\n)+", "", path.read_text()))


def audit(site, *extra: str):
    done = site.tend("secrets", "audit", *extra)
    assert not leaks(done.stdout + done.stderr)
    return done


def flags(done) -> set[tuple[str, str, str]]:
    return {(r["key"], r["principal"], r["flag"]) for r in json.loads(done.stdout)["rows"] if r["flag"] != "ok"}


def replace_value(site, file: str, key: str, message: bytes) -> None:
    path = site.repo / file
    enc = "ENC[GPG," + base64.b64encode(message).decode() + "]"
    text = re.sub(rf"{re.escape(key)}: >\n(  .*\n)+", f"{key}: {enc}\n", path.read_text())
    assert enc in text
    path.write_text(text)


@pytest.fixture
def clean(site):
    without_unused(site)
    done = audit(site, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert flags(done) == set()
    return site


def test_a_host_that_can_read_what_it_does_not_use_is_over(clean) -> None:
    message = clean.keyring.encrypt("x", ["db1", ADMIN, "web1"])
    replace_value(clean, "hieradata/roles/db.yaml", "db::password", message)
    done = audit(clean, "--format", "json")
    assert done.returncode == 1
    assert flags(done) == {("db::password", "web1", "over")}
    table = audit(clean)
    assert "over: web1 on db::password (hieradata/roles/db.yaml): fix with tend secrets rekey" in table.stdout


def test_a_recipient_outside_the_inventory_is_unknown(clean) -> None:
    stray = clean.base / "stray"
    stray.mkdir(mode=0o700)
    clean.keyring.gpg(stray, *NO_PASSPHRASE, "--quick-gen-key", "stray <stray@e2e.test>", "default", "default", "never")
    public = clean.keyring.gpg(stray, "--armor", "--export")
    clean.keyring.gpg(clean.keyring.public_home, "--import", input=public)
    listing = clean.keyring.gpg(stray, "--with-colons", "--list-keys").decode().splitlines()
    stray_fpr = next(line.split(":")[9] for line in listing if line.startswith("fpr:"))
    recipients = [stray_fpr, *(clean.keyring.principals[n].fingerprint for n in ("db1", ADMIN))]
    arguments = [a for fingerprint in recipients for a in ("--recipient", fingerprint)]
    message = clean.keyring.gpg(clean.keyring.public_home, "--encrypt", *arguments, input=b"x")
    replace_value(clean, "hieradata/roles/db.yaml", "db::password", message)
    done = audit(clean, "--format", "json")
    assert done.returncode == 1
    assert [f for f in flags(done) if f[2] == "unknown"], flags(done)
    assert "remove the key from the recipients with tend secrets rekey" in audit(clean).stdout


def test_a_manifest_that_makes_a_host_use_what_it_cannot_read_is_missing(clean) -> None:
    # The web hosts share environments/prod.yaml; now their catalog uses its token too.
    clean.append("manifests/web.yaml", "  - file: /etc/e2e/token\n    content: \"{{ lookup('shared::db_token') }}\"\n")
    done = audit(clean, "--format", "json")
    assert done.returncode == 1
    assert {f for f in flags(done) if f[2] == "missing"} == {
        ("shared::db_token", "web1", "missing"),
        ("shared::db_token", "web2", "missing"),
    }
    expected = "missing: web1 on shared::db_token (hieradata/environments/prod.yaml): fix with tend secrets rekey"
    assert expected in audit(clean).stdout
    # The fix the audit names does fix it.
    assert clean.admin("secrets", "rekey").returncode == 0
    assert audit(clean, "--format", "json").returncode == 0


def test_csv_and_host_filter(clean) -> None:
    done = audit(clean, "--format", "csv", "--host", "db1")
    lines = done.stdout.splitlines()
    assert lines[0] == "file,key,principal,kind,key_id,can_read,uses,flag,environments,accepted"
    assert {line.split(",")[2] for line in lines[1:]} == {"db1"}
