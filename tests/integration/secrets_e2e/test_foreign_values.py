"""Values made by plain gpg, outside tend (as hiera-eyaml-gpg users have them), decrypt on the host."""

from __future__ import annotations

import subprocess

from tests.integration.secrets_e2e.conftest import ADMIN, leaks, managed_files

ONE_LINE = "LEAK-0a11-one-line-do-not-print"
FOLDED = "LEAK-f01d-folded-do-not-print"


def gpg_base64(site, plaintext: str) -> str:
    """`gpg --encrypt -r FPR -r FPR | base64 -w0`, the way a value is made by hand."""
    message = site.keyring.encrypt(plaintext, ["db1", ADMIN])
    return subprocess.run(["base64", "-w0"], input=message, capture_output=True, check=True).stdout.decode()


def test_hand_made_values_one_line_and_folded_decrypt_on_the_host(site):
    one_line = f"ENC[GPG,{gpg_base64(site, ONE_LINE)}]"
    folded = f"ENC[GPG,{gpg_base64(site, FOLDED)}]"
    block = "".join(f"    {folded[i : i + 64]}\n" for i in range(0, len(folded), 64))
    site.write(
        {
            "hieradata/nodes/db1.yaml": f"# made with gpg and base64, not tend\ndb::one_line: {one_line}\n"
            f"db::folded: >\n{block}db::after: plain\n"
        }
    )
    site.append(
        "manifests/db.yaml",
        "  - file: /etc/e2e/foreign\n"
        "    content: \"{{ lookup('db::one_line') }}|{{ lookup('db::folded') }}|{{ lookup('db::after') }}\\n\"\n",
    )
    root = site.root("db1")
    done = site.converge("apply", "db1", "--detailed-exitcodes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert managed_files(root)["etc/e2e/foreign"] == f"{ONE_LINE}|{FOLDED}|plain\n"
    assert site.keyring.readers(one_line) == site.keyring.readers(folded) == {"db1", ADMIN}
    # gpg chose each key's encryption subkey, as tend would: nothing to re-key.
    check = site.admin("secrets", "rekey", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == ""
    for text in (done.stdout + done.stderr, check.stdout + check.stderr):
        assert not leaks(text, {"one": ONE_LINE, "folded": FOLDED})
