"""agent.secrets.gpg.GnuPG through python-gnupg, against real gpg: keys made, exported, imported, values encrypted
and decrypted (one gpg process each), short links for long homes, `tend keys init`, and python-gnupg loaded only
when a secret is used.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import SecretError
from agent.secrets.gpg import GnuPG
from agent.secrets.packets import recipient_key_ids
from tests.conftest import PROJECT, run_tend
from tests.helpers import HIERA

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
PLAINTEXT = b"LEAK-driver-7f3a-do-not-print"


@pytest.fixture
def home() -> Iterator[GnuPG]:
    """A fresh GnuPG home under /tmp holding one host key (ed25519 primary, cv25519 subkey)."""
    gnupg = GnuPG(Path(tempfile.mkdtemp(prefix="tg-d-", dir="/tmp")))
    gnupg.generate("tend host web1 <web1@tend.invalid>")
    try:
        yield gnupg
    finally:
        gnupg.close(remove=True)


def _encryption_subkey(gnupg: GnuPG) -> str:
    [key] = gnupg.driver().list_keys()
    [subkey] = key["subkeys"]
    return subkey[2]


def test_a_generated_key_signs_and_holds_an_encryption_subkey(home: GnuPG) -> None:
    [key] = home.driver().list_keys()
    assert key["uids"] == ["tend host web1 <web1@tend.invalid>"]
    assert key["algo"] == "22" and "s" in key["cap"] and key["expires"] == ""  # EdDSA, signs, never expires
    [subkey] = key["subkeys"]
    assert key["subkey_info"][subkey[0]]["algo"] == "18" and subkey[1] == "e"  # ECDH, encrypts
    assert home.fingerprints(secret=True) == [key["fingerprint"]]
    assert home.secret_key_ids() == {key["keyid"], subkey[0]}


def test_a_value_encrypted_with_public_keys_only_decrypts_with_the_host_key(home: GnuPG) -> None:
    fingerprint = home.fingerprints(secret=True)[0]
    public = home.export_public(fingerprint)
    assert public.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    admin = GnuPG.temporary()
    try:
        admin.import_keys(public)
        assert admin.fingerprints(secret=False) == [fingerprint] and admin.secret_key_ids() == set()
        message = admin.encrypt(PLAINTEXT, [_encryption_subkey(admin)])
    finally:
        admin.close(remove=True)
    assert recipient_key_ids(message) == [_encryption_subkey(home)[-16:]]
    assert home.decrypt(message) == PLAINTEXT


def test_failures_say_what_gpg_could_not_do(home: GnuPG) -> None:
    with pytest.raises(SecretError, match=r"^gpg could not decrypt it: exited with status 2: .*no valid OpenPGP"):
        home.decrypt(b"not an OpenPGP message")
    with pytest.raises(SecretError, match=r"^cannot import keys: gpg exited with status 2"):
        home.import_keys(b"not a key")
    with pytest.raises(SecretError, match=r"^cannot encrypt: gpg exited with status 2"):
        home.encrypt(PLAINTEXT, ["0" * 40])
    with pytest.raises(SecretError, match=r"^cannot export the public key 0{40}: it is not in "):
        home.export_public("0" * 40)


def test_a_long_home_is_reached_through_a_short_link_dropped_on_release(home: GnuPG, tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 70) / "gnupg"
    shutil.copytree(home.home, deep, ignore=shutil.ignore_patterns("S.*"))
    long_home = GnuPG(deep)
    message = _encrypt_to(home, PLAINTEXT)
    try:
        assert long_home.decrypt(message) == PLAINTEXT  # gpg-agent's socket would not fit under `deep`
        link = long_home.homedir()
        assert len(link) < 60 and os.path.realpath(link) == str(deep)
    finally:
        long_home.close()
    assert not os.path.lexists(link) and not [p for p in glob.glob("/tmp/tend-g-*/h") if p == link]


def _encrypt_to(gnupg: GnuPG, plaintext: bytes) -> bytes:
    return gnupg.encrypt(plaintext, [_encryption_subkey(gnupg)])


STRACED = """
import sys
from pathlib import Path
from agent.secrets.gpg import GnuPG
home = GnuPG(Path(sys.argv[1]))
for name in sys.argv[2:]:
    assert home.decrypt(Path(name).read_bytes()).startswith(b"value ")
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (Debian: apt-get install strace)")
def test_one_gpg_process_per_secret_decrypted(home: GnuPG, tmp_path: Path) -> None:
    """python-gnupg's version probe once per home, then exactly one gpg per value; nothing in argv but options."""
    messages = []
    for n in range(3):
        messages.append(tmp_path / f"m{n}")
        messages[-1].write_bytes(_encrypt_to(home, f"value {n} {PLAINTEXT.decode()}".encode()))
    home.close()  # start the agent afresh below, outside the trace: strace -f would wait for it
    subprocess.run(["gpg-connect-agent", "--homedir", str(home.home), "/bye"], capture_output=True, check=True)
    log = tmp_path / "strace.log"
    script = [sys.executable, "-c", STRACED, str(home.home), *map(str, messages)]
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", str(log), *script], cwd=PROJECT, check=True)
    execs = re.findall(r'execve\("([^"]*/gpg)", \[(.*?)\].* = 0$', log.read_text(), re.M)
    decrypts = [argv for _, argv in execs if '"--decrypt"' in argv]
    assert len(decrypts) == len(messages)
    assert len(execs) == len(messages) + 1, execs  # and the probe python-gnupg makes when its object is made
    assert PLAINTEXT.decode() not in log.read_text()


def test_keys_init_makes_the_host_key_once(tmp_path: Path) -> None:
    state = Path(tempfile.mkdtemp(prefix="tg-k-", dir="/tmp"))
    try:
        made = run_tend(["keys", "init", "--name", "web9", "--state-dir", str(state)])
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        fingerprint = re.search(r"created the host key ([0-9A-F]{40}) in ", made.stderr)
        assert fingerprint, made.stderr
        again = run_tend(["keys", "init", "--name", "web9", "--state-dir", str(state)])
        assert again.returncode == 0 and again.stdout == made.stdout
        assert f"already holds this host's key {fingerprint[1]}" in again.stderr
        assert (state / "gnupg").stat().st_mode & 0o777 == 0o700
    finally:
        GnuPG(state / "gnupg").close()
        shutil.rmtree(state, ignore_errors=True)


LAZY = """
import sys
from agent.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("gnupg loaded" if "gnupg" in sys.modules else "gnupg not loaded", file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--version"], id="version"),
        pytest.param(["apply", "--host", "web1", "--noop"], id="empty-catalog"),
        pytest.param(["lookup", "nothing::here", "--host", "web1"], id="lookup"),
    ],
)
def test_python_gnupg_is_imported_only_when_a_secret_is_used(args: list[str], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "hiera.yaml").write_text(HIERA)
    (repo / "data/common.yaml").write_text("classes: []\n")
    options = [] if args == ["--version"] else ["--repo", str(repo), "--state-dir", str(tmp_path / "state")]
    if args[0] == "apply":
        options += ["--root", str(tmp_path / "root")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    env |= {"TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent/f", "TEND_FACTS_DIR": "/nonexistent/d"}
    done = subprocess.run(
        [sys.executable, "-c", LAZY, *args, *options], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert done.stderr.endswith("gnupg not loaded\n"), done.stderr
