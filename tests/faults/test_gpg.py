"""GnuPG failures during a run: the keyring missing, broken or holding the wrong key, gpg itself missing, and
corrupt ENC[GPG,…] values. Each must stop the compile with an error naming the value (file and key), use no
lower hierarchy level instead, write nothing, and exit 1. And a gpg that hangs (its agent never answers, or gpg
itself stops) is stopped after the driver's timeout, its whole process group with it.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import SecretError
from agent.secrets.gpg import GnuPG
from agent.secrets.timedgpg import KILL_GRACE_S
from tests.faults.conftest import (
    UNSHARE_PROBLEM,
    HostKey,
    Run,
    Site,
    gpg,
    in_namespace,
    kill_gpg_agents,
    wait_for,
    write_tree,
)
from tests.helpers import HIERA

FALLBACK = "fallback-from-common"
PLAINTEXT = "s3cret-from-the-node-level"


def encrypt(key: HostKey, plaintext: str) -> bytes:
    return gpg(key.home, "--trust-model", "always", "--encrypt", "--recipient", key.fingerprint,
               input=plaintext.encode())  # fmt: skip


def enc(message: bytes) -> str:
    return f"ENC[GPG,{base64.b64encode(message).decode()}]"


class SecretSite(Site):
    """A site whose node level holds app::password encrypted to web1; common.yaml a plain fallback."""

    keys: dict[str, HostKey]

    def node_value(self, value: str) -> None:
        self.write({"data/nodes/web1.yaml": f"# the node level\napp::password: {value}\n"})

    def keyring(self, name: str | None) -> Path:
        """The agent keyring as a copy of `name`'s home (None: no keyring at all)."""
        home = self.state / "gnupg"
        shutil.rmtree(home, ignore_errors=True)
        if name is not None:
            shutil.copytree(self.keys[name].home, home, ignore=shutil.ignore_patterns("S.*"))
        return home

    def run(self, **options) -> Run:
        return self.apply("--host", "web1", **options)


@pytest.fixture
def secret_site(tmp_path: Path, host_keys: dict[str, HostKey]) -> Iterator[SecretSite]:
    repo, root = tmp_path / "repo", tmp_path / "root"
    write_tree(
        repo,
        {
            "hiera.yaml": HIERA,
            "keys/inventory.yaml": "hosts:\n  web1: {role: web}\n  other: {role: web}\nadmins: []\n",
            "keys/hosts/web1.asc": host_keys["web1"].public,
            "keys/hosts/other.asc": host_keys["other"].public,
            "data/common.yaml": f"classes: [app]\napp::password: {FALLBACK}\n",
            "manifests/app.yaml": """
                parameters:
                  password: null
                resources:
                  - file: /etc/plain
                    content: "written only when the whole catalog compiles\\n"
                  - file: /etc/app.secret
                    content: "{{ password }}\\n"
            """,
        },
    )
    write_tree(root, {"etc/passwd": "root:x:0:0::/:/bin/sh\n", "etc/group": "root:x:0:\n"})
    site = SecretSite(repo, root, tmp_path / "state")
    site.keys = host_keys
    site.state.mkdir(mode=0o700)
    site.node_value(enc(encrypt(host_keys["web1"], PLAINTEXT)))
    yield site
    kill_gpg_agents(site.state / "gnupg")


def assert_refused(site: SecretSite, run: Run, *words: str, names_value: bool = True) -> str:
    """Exit 1, nothing written, no fallback, an error naming the value (file:line and key); the error line."""
    assert run.returncode == 1, run
    assert not site.path("/etc/plain").exists() and not site.path("/etc/app.secret").exists()
    error = run.report["error"] if run.report else run.stderr
    assert FALLBACK not in run.stdout + run.stderr
    assert PLAINTEXT not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    for word in ("data/nodes/web1.yaml:2", "app::password") if names_value else ():
        assert word in error, error
    for word in words:
        assert word in error, error
    return error


def test_the_right_key_reads_the_value(secret_site: SecretSite) -> None:
    """The control case: with web1's keyring the run converges."""
    secret_site.keyring("web1")
    run = secret_site.run()
    assert run.returncode == 2, run
    assert secret_site.path("/etc/app.secret").read_text() == PLAINTEXT + "\n"


def test_no_keyring(secret_site: SecretSite) -> None:
    secret_site.keyring(None)
    assert_refused(secret_site, secret_site.run(), "holds none", "tend keys init", "recipients: web1")


def test_a_keyring_holding_the_wrong_key(secret_site: SecretSite) -> None:
    secret_site.keyring("other")
    assert_refused(secret_site, secret_site.run(), "is not encrypted for web1; recipients: web1")


def test_a_keyring_that_is_not_a_directory(secret_site: SecretSite) -> None:
    home = secret_site.keyring(None)
    home.write_text("not a GnuPG home\n")
    assert_refused(secret_site, secret_site.run(), str(home))


def test_a_keyring_that_is_not_a_directory_says_so(secret_site: SecretSite) -> None:
    home = secret_site.keyring(None)
    home.write_text("not a GnuPG home\n")
    error = assert_refused(secret_site, secret_site.run())
    assert "not a directory" in error


# An error raised while listing this host's keys reaches the user with the class parameter's line only.
NAMES_THE_VALUE = [
    pytest.param(False, id="refused"),
    pytest.param(True, id="names-the-value"),
]


@pytest.mark.parametrize("names_value", NAMES_THE_VALUE)
def test_a_corrupted_public_keyring(secret_site: SecretSite, names_value: bool) -> None:
    home = secret_site.keyring("web1")
    (home / "pubring.kbx").write_bytes(bytes(range(256)) * 16)
    assert_refused(secret_site, secret_site.run(), "cannot list the secret keys", names_value=names_value)


def test_a_keyring_whose_secret_keys_are_gone(secret_site: SecretSite) -> None:
    """The public keys are there, the private key files are not (a half-restored backup)."""
    home = secret_site.keyring("web1")
    shutil.rmtree(home / "private-keys-v1.d")
    assert_refused(secret_site, secret_site.run())


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda m: enc(m)[:-10] + "]", id="truncated-base64"),
        pytest.param(lambda m: enc(m[: len(m) // 2]), id="truncated-message"),
        pytest.param(lambda m: enc(m[:-20] + bytes(b ^ 0x55 for b in m[-20:])), id="flipped-ciphertext"),
        pytest.param(lambda m: enc(m).replace("ENC[GPG,", "ENC[GPG,!!"), id="not-base64"),
        pytest.param(lambda m: enc(m)[:-1], id="no-closing-bracket"),
        pytest.param(lambda m: "ENC[GPG,]", id="empty"),
        pytest.param(lambda m: enc(b"\x8c\x0d" + m), id="garbage-packet"),
    ],
)
def test_a_corrupt_value(secret_site: SecretSite, corrupt) -> None:
    secret_site.keyring("web1")
    message = encrypt(secret_site.keys["web1"], PLAINTEXT)
    secret_site.node_value(f"'{corrupt(message)}'")
    assert_refused(secret_site, secret_site.run())


GPG_HIDDEN = """
set -eu
mount --bind /usr/bin "$1/real"
mount --bind "$1/farm" /usr/bin
test ! -e /usr/bin/gpg
shift
exec $TEND "$@"
"""


@pytest.mark.skipif(UNSHARE_PROBLEM is not None, reason=UNSHARE_PROBLEM or "")
@pytest.mark.parametrize("names_value", NAMES_THE_VALUE)
def test_gpg_not_installed(secret_site: SecretSite, tmp_path: Path, names_value: bool) -> None:
    """/usr/bin seen through a farm of links to everything but gpg (tend's PATH is fixed, so PATH cannot hide it)."""
    if any(Path(d, "gpg").exists() for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/sbin")):
        pytest.skip("gpg is installed outside /usr/bin too")
    secret_site.keyring("web1")
    hide = tmp_path / "hide"
    (hide / "real").mkdir(parents=True)
    (hide / "farm").mkdir()
    for name in os.listdir("/usr/bin"):
        if name != "gpg":
            (hide / "farm" / name).symlink_to(hide / "real" / name)
    run = in_namespace(GPG_HIDDEN, str(hide), *secret_site.argv("apply", "--host", "web1"))
    assert_refused(secret_site, run, "gpg is not installed (Debian: apt-get install gnupg)", names_value=names_value)


# -- a gpg that never finishes ------------------------------------------------------------------------------------

TIMEOUT = 2.0
# A gpg that answers python-gnupg's version probe (or not, with PROBE=hang), then hangs with a child in its group.
HANGING_GPG = """#!/bin/sh
if [ "$PROBE" != hang ]; then
    for arg; do case "$arg" in --version|--list-config) exec gpg "$@";; esac; done
fi
echo $$ > "$PIDS"
sleep 600 &
wait
"""


@pytest.fixture
def web1_home(host_keys: dict[str, HostKey]) -> Iterator[Path]:
    """A copy of web1's keyring in a short home of its own (no agent running for it yet)."""
    home = Path(tempfile.mkdtemp(prefix="tf-h-", dir="/tmp"))
    shutil.copytree(host_keys["web1"].home, home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("S.*"))
    yield home
    kill_gpg_agents(home)
    shutil.rmtree(home, ignore_errors=True)


def assert_stopped_in_time(gnupg: GnuPG, message: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(SecretError, match=f"^gpg did not finish within {TIMEOUT:g} s .*: stopped$"):
        gnupg.decrypt(message)
    assert time.monotonic() - started < TIMEOUT + 2 * KILL_GRACE_S + 5


@pytest.mark.parametrize("probe", ["answers", "hang"])
def test_a_hanging_gpg_is_stopped_with_its_process_group(
    web1_home: Path, host_keys: dict[str, HostKey], tmp_path: Path, probe: str
) -> None:
    """python-gnupg has no timeout: TimedGPG's stops gpg (at its version probe or at the decryption)."""
    fake, pids = tmp_path / "gpg", tmp_path / "pids"
    fake.write_text(HANGING_GPG.replace("$PROBE", probe).replace("$PIDS", str(pids)))
    fake.chmod(0o755)
    assert_stopped_in_time(GnuPG(web1_home, timeout=TIMEOUT, binary=str(fake)), encrypt(host_keys["web1"], "x"))
    group = int(pids.read_text())

    def group_gone() -> bool:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, 10, "the hung gpg's process group (sh and its sleep) to be gone")


def test_a_gpg_agent_that_never_answers_stops_the_real_gpg(web1_home: Path, host_keys: dict[str, HostKey]) -> None:
    """A listener on the agent's socket that accepts and says nothing: real gpg waits for its greeting forever."""
    where = subprocess.run(
        ["gpgconf", "--homedir", str(web1_home), "--list-dirs", "agent-socket"], capture_output=True, text=True
    )
    path = where.stdout.strip()
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(path)
    silent.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(silent.accept()[0]) for _ in range(8)], daemon=True).start()
    try:
        gnupg = GnuPG(web1_home, timeout=TIMEOUT)
        assert_stopped_in_time(gnupg, encrypt(host_keys["web1"], PLAINTEXT))
        assert held, "gpg never reached the silent agent"
    finally:
        silent.close()
        for connection in held:
            connection.close()
        os.unlink(path)


def test_a_value_that_decompresses_past_the_cap_is_refused_unread(secret_site: SecretSite, web1_home: Path) -> None:
    """A few hundred bytes of ENC can inflate to gigabytes: gpg's output is read up to MAX_DECRYPTED, no more."""
    from agent.secrets.gpg import MAX_DECRYPTED

    bomb = gpg(secret_site.keys["web1"].home, "--trust-model", "always", "--compress-level", "9", "--encrypt",
               "--recipient", secret_site.keys["web1"].fingerprint, input=bytes(64 * MAX_DECRYPTED))  # fmt: skip
    assert len(bomb) < 256 * 1024
    with pytest.raises(SecretError, match=f"over the limit of {MAX_DECRYPTED:,} bytes"):
        GnuPG(web1_home).decrypt(bomb)
    secret_site.node_value(enc(bomb))
    secret_site.keyring("web1")
    assert_refused(secret_site, secret_site.run(), f"over the limit of {MAX_DECRYPTED:,} bytes")
