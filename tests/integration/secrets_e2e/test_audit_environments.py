"""`tend secrets audit` across environments (cross_env, accepted with a reason) and its findings without a
principal (PKCS7 values, plaintext marked Sensitive, shadowed duplicates of an encrypted value)."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from tests.integration.secrets_e2e.conftest import ADMIN, HOSTS
from tests.integration.secrets_e2e.test_audit_flags import audit, flags, replace_value, without_unused

PKCS7 = "ENC[PKCS7,MIIBiQYJKoZIhvcNAQcDoIIBejCCAXYCAQAxggEhMIIBHQIBADAFMAACAQEwDQYJKoZIhvcNAQEBBQAEggEA]"
REASON = "the site-wide token is the same everywhere by design (INC-42)"


def stage(site, *hosts: str) -> None:
    """Move `hosts` to the staging environment (role unchanged)."""
    path = site.repo / "keys/inventory.yaml"
    inventory = yaml.safe_load(path.read_text())
    for host in hosts:
        inventory["hosts"][host]["environment"] = "staging"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))


def accept(site, reasons: dict[str, str]) -> None:
    """One lookup_options block (common.yaml has none) accepting each key's crossing with its reason."""
    entries = "".join(f"  {key}:\n    tend_cross_env: {json.dumps(reason)}\n" for key, reason in reasons.items())
    site.append("hieradata/common.yaml", "lookup_options:\n" + entries)


def report(done) -> dict:
    return json.loads(done.stdout)


def rows_of(done, key: str) -> list[dict]:
    return [row for row in report(done)["rows"] if row["key"] == key]


@pytest.fixture
def clean(site):
    without_unused(site)
    done = audit(site, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def test_a_value_readable_in_two_environments_is_cross_env(clean) -> None:
    stage(clean, "web2")
    done = audit(clean, "--format", "json")
    assert done.returncode == 1
    assert {f for f in flags(done) if f[0] == "web::tls_key"} == {
        ("web::tls_key", "web1", "cross_env"),
        ("web::tls_key", "web2", "cross_env"),
    }
    assert {f for f in flags(done) if f[0] == "site::everyone"} == {("site::everyone", h, "cross_env") for h in HOSTS}
    for row in rows_of(done, "web::tls_key"):
        assert row["environments"] == ["prod", "staging"]
        assert row["accepted"] is None
    # Values read in one environment only stay ok.
    assert {row["flag"] for row in rows_of(done, "db::password")} == {"ok"}
    assert report(done)["summary"]["flags"]["cross_env"] == 7

    table = audit(clean).stdout
    assert "cross_env: web::tls_key (hieradata/roles/web.yaml) is readable in prod (web1), staging (web2)" in table
    assert "tend_cross_env" in table  # the fix names the opt-out
    lines = list(csv.DictReader(io.StringIO(audit(clean, "--format", "csv").stdout)))
    tls = [line for line in lines if line["key"] == "web::tls_key" and line["kind"] == "host"]
    assert {(line["flag"], line["environments"]) for line in tls} == {("cross_env", "prod staging")}
    page = audit(clean, "--format", "html").stdout
    assert "cross_env: web::tls_key (hieradata/roles/web.yaml) is readable in prod (web1), staging (web2)" in page


def test_an_accepted_cross_env_value_exits_0_and_shows_its_reason(clean) -> None:
    stage(clean, "web2")
    accept(clean, {"site::everyone": REASON, "web::tls_key": "one certificate for both"})
    done = audit(clean, "--format", "json")
    assert done.returncode == 0, done.stdout
    assert flags(done) == set()
    everyone = [row for row in rows_of(done, "site::everyone") if row["kind"] == "host"]
    assert {row["accepted"] for row in everyone} == {REASON}
    assert {tuple(row["environments"]) for row in everyone} == {("prod", "staging")}
    assert {"file": "hieradata/common.yaml", "key": "site::everyone", "environments": ["prod", "staging"],
            "reason": REASON} in report(done)["summary"]["accepted"]  # fmt: skip
    for form in ("table", "csv", "html"):
        shown = audit(clean, "--format", form)
        assert shown.returncode == 0
        assert REASON in shown.stdout, form
    # The extra lookup option changes no lookup.
    lookup = clean.tend("lookup", "site::everyone", "--host", "web2")
    assert lookup.returncode == 0, lookup.stderr
    assert lookup.stdout.strip() == "<secret: hieradata/common.yaml:site::everyone>"
    assert clean.tend("check").returncode == 0


def test_flag_precedence_over_beats_cross_env_and_acceptance_hides_only_cross_env(clean) -> None:
    stage(clean, "web2")
    message = clean.keyring.encrypt("x", ["db1", ADMIN, "web2"])
    replace_value(clean, "hieradata/roles/db.yaml", "db::password", message)
    done = audit(clean, "--format", "json")
    assert done.returncode == 1
    password = {row["principal"]: row["flag"] for row in rows_of(done, "db::password")}
    assert password == {"db1": "cross_env", "web2": "over", ADMIN: "ok"}
    # Accepted, the crossing rows are ok; the over row stays flagged.
    accept(clean, {"db::password": "checked"})
    done = audit(clean, "--format", "json")
    password = {row["principal"]: (row["flag"], row["accepted"]) for row in rows_of(done, "db::password")}
    assert password == {"db1": ("ok", "checked"), "web2": ("over", "checked"), ADMIN: ("ok", None)}
    assert done.returncode == 1


def test_pkcs7_values_are_findings_and_the_audit_goes_on(clean) -> None:
    clean.append("hieradata/common.yaml", f"legacy::token: {PKCS7}\nlegacy::bare: ENC[MIIBiQYJKoZIhvcNAQcD]\n")
    done = audit(clean, "--format", "json")
    assert done.returncode == 1, done.stderr
    result = report(done)
    assert set(result) == {"rows", "summary"}
    pkcs7 = [f for f in result["summary"]["findings"] if f["kind"] == "pkcs7"]
    lines = (clean.repo / "hieradata/common.yaml").read_text().splitlines()
    assert [(f["file"], f["key"], f["line"]) for f in pkcs7] == [
        ("hieradata/common.yaml", "legacy::token", lines.index(f"legacy::token: {PKCS7}") + 1),
        ("hieradata/common.yaml", "legacy::bare", len(lines)),
    ]
    assert all("PKCS7 value: no recipients readable by tend" in f["detail"] for f in pkcs7)
    assert all("re-encrypt with tend secrets set" in f["fix"] for f in pkcs7)
    # Every GPG value is still audited.
    assert {row["key"] for row in result["rows"]} >= {"db::password", "web::tls_key", "site::everyone"}
    table = audit(clean).stdout
    assert f"pkcs7: hieradata/common.yaml:{pkcs7[0]['line']}: legacy::token: PKCS7 value" in table


def test_plaintext_marked_sensitive_is_a_finding_without_its_value(clean) -> None:
    clean.append(
        "hieradata/common.yaml",
        "site::api_key: plain-LEAK-do-not-print\nlookup_options:\n  site::api_key: {convert_to: Sensitive}\n",
    )
    done = audit(clean, "--format", "json")
    assert done.returncode == 1
    assert "plain-LEAK" not in done.stdout + done.stderr
    [finding] = [f for f in report(done)["summary"]["findings"] if f["kind"] == "sensitive_plaintext"]
    line = (
        (clean.repo / "hieradata/common.yaml").read_text().splitlines().index("site::api_key: plain-LEAK-do-not-print")
    )
    assert (finding["file"], finding["key"], finding["line"]) == ("hieradata/common.yaml", "site::api_key", line + 1)
    assert "plaintext marked sensitive" in finding["detail"]
    assert "tend secrets set" in finding["fix"]
    assert "plain-LEAK" not in audit(clean).stdout


@pytest.mark.parametrize("encrypted_first", [True, False])
def test_a_shadowed_duplicate_of_an_encrypted_value_is_a_finding(clean, encrypted_first: bool) -> None:
    path = clean.repo / "hieradata/roles/db.yaml"
    text = path.read_text()
    if encrypted_first:
        path.write_text(text + "db::password: old-LEAK-do-not-print\n")
    else:
        path.write_text("db::password: old-LEAK-do-not-print\n" + text)
    done = audit(clean, "--format", "json")
    assert done.returncode == 1
    assert "old-LEAK" not in done.stdout + done.stderr
    [finding] = [f for f in report(done)["summary"]["findings"] if f["kind"] == "shadowed_duplicate"]
    lines = path.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("db::password:")) + 1
    assert (finding["file"], finding["key"], finding["line"]) == ("hieradata/roles/db.yaml", "db::password", first)
    assert "encrypted" in finding["detail"]
