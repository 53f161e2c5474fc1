"""eyaml's conventions: `.eyaml` files seen by the audit and re-keying, PKCS7 values converted to GPG with openssl."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.integration.secrets_e2e.conftest import ADMIN, leaks

EYAML_LEVEL = """\
version: 5
defaults: {datadir: hieradata, data_hash: yaml_data}
hierarchy:
  - name: Secure per role
    lookup_key: eyaml_lookup_key
    path: secure/%{facts.role}.eyaml
  - name: Per node
    path: nodes/%{facts.hostname}.yaml
  - name: Per role
    path: roles/%{facts.role}.yaml
  - name: Per environment
    path: environments/%{facts.environment}.yaml
  - name: Common
    path: common.yaml
"""
PKCS7_PLAIN = "LEAK-pk7-db-password-do-not-print"
NEEDS_OPENSSL = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def enc_gpg(message: bytes) -> str:
    return f"ENC[GPG,{base64.b64encode(message).decode()}]"


def test_an_eyaml_file_is_seen_by_the_audit_and_rekey(site) -> None:
    (site.repo / "hiera.yaml").write_text(EYAML_LEVEL)
    only_admin = enc_gpg(site.keyring.encrypt("LEAK-eyaml-do-not-print", [ADMIN]))
    site.write({"hieradata/secure/db.eyaml": f"# eyaml-gpg data\ndb::password: {only_admin}\n"})
    audit = site.admin("secrets", "audit", "--format", "json")
    rows = json.loads(audit.stdout)["rows"]
    eyaml = {(r["principal"], r["flag"]) for r in rows if r["file"] == "hieradata/secure/db.eyaml"}
    assert eyaml == {("db1", "missing"), (ADMIN, "ok")}, audit.stdout + audit.stderr
    assert audit.returncode == 1
    check = site.admin("secrets", "rekey", "--check")
    assert check.returncode == 1
    assert f"hieradata/secure/db.eyaml:2: db::password: readers {ADMIN} -> db1, {ADMIN}" in check.stdout
    done = site.admin("secrets", "rekey")
    assert done.returncode == 0, done.stderr
    assert site.readers("db::password", "hieradata/secure/db.eyaml") == {"db1", ADMIN}
    assert (site.repo / "hieradata/secure/db.eyaml").read_text().startswith("# eyaml-gpg data\n")


@pytest.fixture
def pkcs7(site) -> tuple[Path, Path]:
    """An eyaml keypair as `eyaml createkeys` makes it (RSA private key, self-signed certificate), outside the repo."""
    folder = site.base / "eyaml-keys"
    folder.mkdir()
    private, public = folder / "private_key.pkcs7.pem", folder / "public_key.pkcs7.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=eyaml"),
            *("-keyout", str(private), "-out", str(public)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return private, public


def eyaml_encrypt(plaintext: str, public: Path) -> str:
    """What hiera-eyaml's PKCS7 encryptor writes: PKCS7 (AES-256, binary) as DER, in base64."""
    der = subprocess.run(
        ["openssl", "smime", "-encrypt", "-aes256", "-binary", "-outform", "DER", str(public)],
        input=plaintext.encode(),
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return f"ENC[PKCS7,{base64.b64encode(der).decode()}]"


@NEEDS_OPENSSL
def test_convert_reencrypts_pkcs7_to_the_derived_readers(site, pkcs7) -> None:
    private, public = pkcs7
    value = eyaml_encrypt(PKCS7_PLAIN, public)
    text = textwrap.dedent(
        f"""\
        # the database role
        classes: [db]
        db::port: 5432  # keep me
        db::password: >
            {value[:60]}
            {value[60:]}
        db::after: 1
        """
    )
    site.write({"hieradata/roles/db.yaml": text})
    run = site.converge("plan", "db1")
    assert run.returncode == 1
    assert "hieradata/roles/db.yaml:4: db::password: unsupported encryption scheme 'PKCS7'" in run.stderr

    log = site.base / "convert.strace"
    argv = ["secrets", "convert", "hieradata/roles/db.yaml", "--pkcs7-private-key", str(private)]
    done = site.admin(*argv, "--pkcs7-public-key", str(public), strace_log=log if shutil.which("strace") else None)
    assert done.returncode == 0, done.stderr
    assert "db::password: PKCS7 -> GPG for db1, ops" in done.stderr
    assert not leaks(done.stdout + done.stderr, {"p": PKCS7_PLAIN})
    if log.exists():
        execs = log.read_text()
        assert "openssl" in execs
        assert PKCS7_PLAIN not in execs and "LEAK-pk7" not in execs

    after = (site.repo / "hieradata/roles/db.yaml").read_text()
    assert after.startswith("# the database role\nclasses: [db]\ndb::port: 5432  # keep me\ndb::password: >\n")
    assert after.endswith("db::after: 1\n") and "PKCS7" not in after
    assert site.readers("db::password", "hieradata/roles/db.yaml") == {"db1", ADMIN}
    shown = site.admin("secrets", "show", "hieradata/roles/db.yaml", "db::password")
    assert shown.stdout == PKCS7_PLAIN + "\n"
    assert yaml.safe_load(after)["db::port"] == 5432


@NEEDS_OPENSSL
def test_convert_refuses_keys_inside_the_repository(site, pkcs7) -> None:
    private, public = pkcs7
    inside = site.repo / "eyaml"
    inside.mkdir()
    shutil.copy(public, inside / "public_key.pkcs7.pem")
    argv = ["secrets", "convert", "hieradata/roles/db.yaml", "--pkcs7-private-key", str(private)]
    done = site.admin(*argv, "--pkcs7-public-key", str(inside / "public_key.pkcs7.pem"))
    assert done.returncode == 1
    assert "is inside the repository" in done.stderr


@NEEDS_OPENSSL
def test_convert_with_the_wrong_key_names_file_and_key(site, pkcs7, tmp_path) -> None:
    public = pkcs7[1]
    site.write({"hieradata/roles/db.yaml": f"classes: [db]\ndb::password: {eyaml_encrypt(PKCS7_PLAIN, public)}\n"})
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(other), "2048"], check=True, capture_output=True, timeout=60)
    argv = ["secrets", "convert", "hieradata/roles/db.yaml", "--pkcs7-private-key", str(other)]
    done = site.admin(*argv, "--pkcs7-public-key", str(public))
    assert done.returncode == 1
    assert "hieradata/roles/db.yaml:2: db::password: openssl cannot decrypt" in done.stderr
    assert PKCS7_PLAIN not in done.stdout + done.stderr
