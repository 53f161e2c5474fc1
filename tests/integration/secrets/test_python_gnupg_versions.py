"""tend's gpg driver on both python-gnupg lines it supports: the PyPI release in the venv, and Debian 12's
python3-gnupg 0.4.9 under /usr/bin/python3 (what the .deb runs on), with the checkout on PYTHONPATH.

Each makes a host key, encrypts and decrypts a value, and checks a signed commit and a tampered one, with every
logger at DEBUG: 0.4.9 logs the first bytes of each decrypted chunk at DEBUG, so the `gnupg` logger must stay at
WARNING whatever tend's logging is set to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

DEBIAN_PYTHON = "/usr/bin/python3"
PLAINTEXT = "LEAK-versions-51c2-do-not-print"


def _debian_gnupg_missing() -> str | None:
    if not Path(DEBIAN_PYTHON).exists():
        return "needs Debian's /usr/bin/python3"
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import gnupg, yaml"], capture_output=True, check=False)
    return None if probe.returncode == 0 else "needs python3-gnupg and python3-yaml (make deps)"


SCRIPT = """
import logging, subprocess, sys, tempfile
from pathlib import Path
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from agent.bundles.signature import verify_commit
from agent.errors import BundleError
from agent.secrets.gpg import GnuPG

plaintext, repo = sys.argv[1].encode(), Path(sys.argv[2])
host = GnuPG(Path(tempfile.mkdtemp(prefix="tg-v-", dir="/tmp")))
try:
    fingerprint = host.generate("tend host v1 <v1@tend.invalid>")
    [key] = host.driver().list_keys()
    message = host.encrypt(plaintext, [key["subkeys"][0][2]])
    assert host.decrypt(message) == plaintext
    git = ["git", "-C", str(repo), "-c", "user.name=ops", "-c", "user.email=ops@v.test"]
    env = {"GNUPGHOME": str(host.home), "PATH": "/usr/bin:/bin", "GIT_CONFIG_GLOBAL": "/dev/null"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run([*git, "-c", "user.signingkey=" + fingerprint, "commit", "-q", "-S", "--allow-empty", "-m", "x"],
                   check=True, env=env)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert verify_commit(repo / ".git", commit, [fingerprint], host).signer == fingerprint
    raw = subprocess.run([*git, "cat-file", "commit", commit], check=True, capture_output=True).stdout
    forged = subprocess.run([*git, "hash-object", "-t", "commit", "-w", "--stdin"], check=True, capture_output=True,
                            input=raw.replace(b"\\nx\\n", b"\\ny\\n")).stdout.decode().strip()
    try:
        verify_commit(repo / ".git", forged, [fingerprint], host)
        raise AssertionError("a tampered commit was accepted")
    except BundleError as error:
        assert "bad signature" in error.message, error.message
    assert logging.getLogger("gnupg").getEffectiveLevel() == logging.WARNING
    import gnupg
    print(gnupg.__version__)
finally:
    host.close(remove=True)
"""


@pytest.mark.parametrize(
    "python",
    [
        pytest.param(sys.executable, id="pypi"),
        pytest.param(
            DEBIAN_PYTHON,
            id="debian-0.4.9",
            marks=pytest.mark.skipif(_debian_gnupg_missing() is not None, reason=str(_debian_gnupg_missing())),
        ),
    ],
)
def test_decrypt_and_commit_verification(python: str, tmp_path: Path) -> None:
    if shutil.which("gpg") is None or shutil.which("git") is None:
        pytest.skip("needs gpg and git")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "HOME": str(tmp_path)}
    done = subprocess.run(
        [python, "-c", SCRIPT, PLAINTEXT, str(tmp_path / "repo")],
        cwd=tmp_path,
        env={**env, "LANG": os.environ.get("LANG", "C.UTF-8")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    if python == DEBIAN_PYTHON:
        assert done.stdout.strip() == "0.4.9"
    assert PLAINTEXT not in done.stdout + done.stderr
