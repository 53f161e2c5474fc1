"""Readers are derived from what each host's catalog uses: `tend secrets set` across a five-host fleet."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.integration.secrets_e2e.conftest import ADMIN, FILE_OF, PLAIN, READERS, SECRETS, leaks


@pytest.mark.parametrize("key", sorted(READERS))
def test_each_value_is_encrypted_to_exactly_its_derived_readers(site, key):
    assert site.readers(key) == READERS[key]


def test_set_names_the_readers_and_warns_only_for_the_unused_value(fleet_repo):
    for key, done in fleet_repo.set_output.items():
        readers = [*sorted(READERS[key] - {ADMIN}), ADMIN]
        assert f"{key} in {FILE_OF[key]}: encrypted for {', '.join(readers)}" in done.stderr
        warned = f"tend: warning: no host uses {key} ({FILE_OF[key]}): it is encrypted to the admins alone"
        assert (warned in done.stderr) == (key == "site::unused"), done.stderr
        assert done.stdout == ""
        assert not leaks(done.stdout + done.stderr)


def test_set_keeps_the_rest_of_each_file_and_writes_eyaml_blocks(fleet_repo):
    prod = (fleet_repo.path / "hieradata/environments/prod.yaml").read_text()
    assert prod.startswith("# production: every host shares this file, the web hosts use none of its secrets\n")
    assert "prod::region: eu-west\nshared::db_token: > # with tend secrets set\n  ENC[GPG," in prod
    assert "]\nprod::tier: gold\nprod::mon_token: >\n  ENC[GPG," in prod
    data = yaml.safe_load(prod)
    assert list(data) == ["prod::region", "shared::db_token", "prod::tier", "prod::mon_token"]
    block = [line for line in prod.splitlines() if line.startswith("  ")]
    assert block and all(len(line) <= 2 + 60 for line in block), block  # 60 characters a line, indented two
    for file, _ in SECRETS:
        assert not leaks((fleet_repo.path / file).read_bytes())


def test_the_web_hosts_share_the_file_but_read_none_of_its_secrets(site):
    for key in ("shared::db_token", "prod::mon_token"):
        assert FILE_OF[key] == "hieradata/environments/prod.yaml"
        assert not site.readers(key) & {"web1", "web2"}


def test_audit_agrees_with_the_derived_readers(site):
    done = site.tend("secrets", "audit", "--format", "json")
    report = json.loads(done.stdout)
    can_read: dict[str, set[str]] = {}
    for row in report["rows"]:
        assert row["flag"] == "ok", row
        if row["can_read"]:
            can_read.setdefault(row["key"], set()).add(row["principal"])
    assert can_read == {k: set(v) for k, v in READERS.items()}
    # The value nobody uses may be reported (and fail the audit); nothing else may.
    findings = report["summary"].get("findings", [])
    assert all("site::unused" in f["subject"] for f in findings), findings
    assert done.returncode == (1 if findings else 0), done.stderr
    assert not leaks(done.stdout + done.stderr)


def test_plaintexts_are_distinct():
    assert len(set(PLAIN.values())) == len(PLAIN)


def test_derivation_tolerates_a_missing_key_looked_up_natively(site):
    """An admin sets one value while the manifests already use another that is not set yet (§4)."""
    site.append(
        "manifests/web.yaml",
        "  - file: /etc/e2e/later\n    content: \"{{ lookup('web::later') }}\"\n"
        "  - file: /etc/e2e/first\n    content: \"{{ lookup('web::first') }}\\n\"\n",
    )
    done = site.admin("secrets", "set", "hieradata/roles/web.yaml", "web::first", input="LEAK-f125-first-do-not-print")
    assert done.returncode == 0, done.stderr
    assert site.readers("web::first", "hieradata/roles/web.yaml") == {"web1", "web2", ADMIN}
