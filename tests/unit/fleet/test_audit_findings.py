"""The audit's findings without a principal, on data files in a temporary repository (no gpg)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.data.encrypted import EncryptedValue
from agent.data.hiera import Hiera
from agent.fleet.audit_findings import is_pkcs7, pkcs7_finding, sensitive_plaintext, shadowed_duplicates
from agent.location import Location

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy: [{name: Common, path: common.yaml}]\n"


@pytest.mark.parametrize(
    ("text", "pkcs7"),
    [
        ("ENC[PKCS7,MIIBiQYJKoZIhvcNAQcD]", True),
        ("ENC[MIIBiQYJKoZIhvcNAQcD]", True),  # eyaml's default scheme
        ("ENC[ PKCS7,\n  MIIB ]", True),
        ("ENC[GPG,hQEMA]", False),
        ("ENC[RSA,abc]", False),
    ],
)
def test_pkcs7_values_are_told_apart(text: str, pkcs7: bool) -> None:
    assert is_pkcs7(text) is pkcs7


def test_a_pkcs7_finding_names_file_line_and_key() -> None:
    finding = pkcs7_finding(EncryptedValue("ENC[PKCS7,x]", Location("data/common.yaml", 4), "db::password"))
    assert finding.subject == "data/common.yaml:4: db::password"
    assert (finding.file, finding.line, finding.key) == ("data/common.yaml", 4, "db::password")
    assert finding.detail == "PKCS7 value: no recipients readable by tend"
    assert finding.fix == "re-encrypt with tend secrets set data/common.yaml db::password"


def repo(tmp_path: Path, common: str) -> Hiera:
    (tmp_path / "data").mkdir()
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (tmp_path / "data/common.yaml").write_text(textwrap.dedent(common))
    return Hiera(tmp_path)


def test_plaintext_marked_sensitive_by_exact_key_or_regex(tmp_path: Path) -> None:
    hiera = repo(
        tmp_path,
        """\
        a::password: hunter2
        b::token: ENC[GPG,hQEMA]
        c::creds:
          user: app
          password: ENC[GPG,hQEMA]
        d::nothing: ~
        e::plain: not marked
        lookup_options:
          a::password: {convert_to: Sensitive}
          b::token: {convert_to: [Sensitive]}
          "^[cd]::": {convert_to: Sensitive}
        """,
    )
    context = hiera.context({"hostname": "h1"})
    found = sensitive_plaintext({"h1": context})
    assert [(f.file, f.line, f.key) for f in found] == [
        ("data/common.yaml", 1, "a::password"),
        ("data/common.yaml", 3, "c::creds"),  # its user is plaintext
    ]
    assert "hunter2" not in repr(found)


def test_shadowed_duplicates_of_encrypted_values_only(tmp_path: Path) -> None:
    hiera = repo(
        tmp_path,
        """\
        a::password: ENC[GPG,hQEMA]
        b::plain: one
        a::password: stale
        b::plain: two
        c::nested:
          token: old
          token: ENC[GPG,hQEMA]
        """,
    )
    found = shadowed_duplicates(tmp_path, hiera, ["data/common.yaml"])
    assert [(f.line, f.key) for f in found] == [(1, "a::password"), (6, "c::nested.token")]
    assert all("stale" not in f.detail and "old" not in f.detail for f in found)
