"""An admin's view: show a value, and re-key exactly the values whose readers change when a host moves."""

from __future__ import annotations

import re

from tests.integration.secrets_e2e.conftest import ADMIN, FILE_OF, PLAIN, READERS, expected_files, leaks, managed_files

DATA_FILES = sorted(set(FILE_OF.values()))
# web2 moves from role web to role app: it stops using web::tls_key and starts using shared::db_token.
AFFECTED = {("hieradata/roles/web.yaml", "web::tls_key"), ("hieradata/environments/prod.yaml", "shared::db_token")}
REKEY_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+): (?P<key>\S+): readers (?P<now>.*) -> (?P<wanted>.*)$")


def blocks(text: str) -> dict[str, str]:
    """A data file cut into its top-level entries (a key's line and its indented continuation lines)."""
    out: dict[str, str] = {}
    current = "#"
    for line in text.splitlines(keepends=True):
        if line[:1] not in (" ", "#", "\n", ""):
            current = re.match(r"(.+?):(?:\s|$)", line)[1]
        out[current] = out.get(current, "") + line
    return out


def test_show_prints_the_plaintext_for_the_admin(site):
    for key, plain in PLAIN.items():
        done = site.admin("secrets", "show", FILE_OF[key], key)
        assert done.returncode == 0, done.stderr
        assert done.stdout == plain + "\n"


def test_show_refuses_a_key_that_is_not_a_recipient(site):
    done = site.tend(
        "secrets", "show", FILE_OF["db::password"], "db::password", env={"GNUPGHOME": str(site.keyring.home("web1"))}
    )
    assert done.returncode == 1
    assert "`db::password` (hieradata/roles/db.yaml) is not encrypted for any key in" in done.stderr
    assert not leaks(done.stdout + done.stderr)


def test_moving_a_host_rekeys_exactly_the_affected_values(site):
    clean = site.admin("secrets", "rekey", "--check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""
    before = {file: (site.repo / file).read_text() for file in DATA_FILES}

    site.move("web2", "app")
    check = site.admin("secrets", "rekey", "--check")
    assert check.returncode == 1
    listed = [REKEY_LINE.match(line) for line in check.stdout.splitlines()]
    assert all(listed), check.stdout
    assert {(m["file"], m["key"]) for m in listed} == AFFECTED
    wanted = {m["key"]: set(m["wanted"].split(", ")) for m in listed}
    assert wanted == {"web::tls_key": {"web1", ADMIN}, "shared::db_token": {"app1", "db1", "web2", ADMIN}}
    now = {m["key"]: set(m["now"].split(", ")) for m in listed}
    assert now == {key: set(READERS[key]) for _, key in AFFECTED}
    assert "2 value(s) to re-key: run `tend secrets rekey`" in check.stderr
    assert {(site.repo / file).read_text() for file in DATA_FILES} == set(before.values()), "--check wrote"

    rekey = site.admin("secrets", "rekey")
    assert rekey.returncode == 0, rekey.stdout + rekey.stderr
    assert "re-keyed 2 value(s)" in rekey.stderr
    for file in DATA_FILES:
        old, new = blocks(before[file]), blocks((site.repo / file).read_text())
        assert list(old) == list(new), file
        changed = {key for key in old if old[key] != new[key]}
        assert changed == {key for f, key in AFFECTED if f == file}, file

    after = site.admin("secrets", "rekey", "--check")
    assert after.returncode == 0, after.stdout + after.stderr
    assert site.readers("web::tls_key") == {"web1", ADMIN}
    assert site.readers("shared::db_token") == {"app1", "db1", "web2", ADMIN}

    root = site.root("web2")
    applied = site.converge("apply", "web2", "--detailed-exitcodes")
    assert applied.returncode == 2, applied.stdout + applied.stderr
    assert managed_files(root) == expected_files("web2", role="app")
    for done in (clean, check, rekey, after, applied):
        assert not leaks(done.stdout + done.stderr)


def test_a_host_that_lost_a_value_can_no_longer_read_it(site):
    site.move("web2", "app")
    assert site.admin("secrets", "rekey").returncode == 0
    site.move("web2", "web")  # moved back, but the value was re-keyed without it
    root = site.root("web2")
    done = site.converge("apply", "web2")
    assert done.returncode == 1
    assert "`web::tls_key` (hieradata/roles/web.yaml) is not encrypted for web2; recipients: ops, web1" in done.stderr
    assert list(root.rglob("*")) == [root / "etc"]


def test_lookup_reveal_decrypts_for_the_admin(site):
    done = site.admin("lookup", "db::password", "--host", "db1", "--reveal")
    assert done.returncode == 0, done.stderr
    assert done.stdout == PLAIN["db::password"] + "\n"
