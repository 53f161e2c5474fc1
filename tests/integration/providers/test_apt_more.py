"""apt sources, holds, recommends, debconf and failures, through `tend apply`, on test-built .debs.

Sources are tested under `--root` (tend writes /etc/apt there, never on the host), with a repository
signed by a throwaway key; the rest on the host's dpkg with the test's own unsigned repository
(apt options), installing only tendtest-<token>-* packages, purged in teardown.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.providers.conftest import HOST_DPKG, AptRepo, Site, dpkg_status, dpkg_version, needs

pytestmark = [needs("apt-get", "dpkg-deb", "dpkg-scanpackages", "apt-ftparchive", "gpg"), HOST_DPKG]


class SignedRepo(AptRepo):
    """The local repository with a Release file signed by a throwaway key (InRelease and Release.gpg)."""

    home: Path

    def index(self) -> None:
        super().index()
        for args, out in ((["--clearsign"], "InRelease"), (["-abs"], "Release.gpg")):
            target = self.path / out
            target.unlink(missing_ok=True)
            self.gpg(*args, "-o", str(target), str(self.path / "Release"))

    def gpg(self, *args: str) -> str:
        done = subprocess.run(["gpg", "--homedir", str(self.home), "--batch", "--pinentry-mode", "loopback",
                               "--passphrase", "", *args], capture_output=True, text=True, check=True)  # fmt: skip
        return done.stdout

    def new_key(self) -> str:
        """A fresh signing key in this repository's own keyring: its armored public key."""
        self.gpg("--quick-gen-key", f"repo-{os.urandom(3).hex()} <r@t>", "ed25519", "sign", "never")
        return self.gpg("--armor", "--export")


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[SignedRepo]:
    repo = SignedRepo(tmp_path / "debs", tmp_path / "apt", os.urandom(3).hex())
    repo.path.mkdir()
    repo.work.mkdir()
    repo.home = Path(f"/tmp/tend-gpg-{repo.token}")  # short: gpg-agent's socket path has a limit
    repo.home.mkdir(mode=0o700)
    try:
        repo.key = repo.new_key()
        yield repo
    finally:
        subprocess.run(["gpgconf", "--homedir", str(repo.home), "--kill", "all"], check=False)
        shutil.rmtree(repo.home, ignore_errors=True)
        repo.purge_from_host()


def rooted(site: Site, tmp_path: Path, max_age: str = "1h") -> Path:
    """An empty root for the site, packages' scripts run from the host (the root has no shell)."""
    root = tmp_path / "root"
    root.mkdir()
    site.root = root
    config = tmp_path / "agent.yaml"
    config.write_text(f"apt: {{lists_max_age: {max_age}}}\n")
    site.env = {"TEND_CONFIG": str(config), "TEND_APT_OPTIONS": "-o DPkg::Options::=--force-script-chrootless"}
    return root


SOURCE = """
resources:
  - apt_source: local
    uris: "file:{path}"
    suites: ./
    key: {key}
  - package: {name}
    ensure: latest
"""


def test_a_source_with_its_key_then_latest_after_a_new_version(site: Site, signed: SignedRepo, tmp_path: Path) -> None:
    name = signed.add("app", "1.0")
    root = rooted(site, tmp_path)
    (site.repo / "files/apt").mkdir(parents=True)
    (site.repo / "files/apt/local.asc").write_text(signed.key)
    site.manifest(SOURCE.format(path=signed.path, key="apt/local.asc", name=name))
    first = site.apply()
    assert first.returncode == 2, str(first)
    assert first.statuses == {"apt_source:local": "changed", f"package:{name}": "changed"}
    assert dpkg_version(name, root) == "1.0" and dpkg_version(name) is None
    text = (root / "etc/apt/sources.list.d/local.sources").read_text()
    assert f"Signed-By: {root}/etc/apt/keyrings/local.asc\n" in text
    assert (root / "etc/apt/keyrings/local.asc").read_text() == signed.key
    assert site.apply().returncode == 0

    signed.add("app", "2.0")
    fresh = site.apply()  # the lists are younger than lists_max_age: 2.0 is not seen yet
    assert fresh.returncode == 0 and dpkg_version(name, root) == "1.0", fresh
    (tmp_path / "agent.yaml").write_text("apt: {lists_max_age: 0s}\n")  # now every run refreshes them
    upgrade = site.apply()
    assert upgrade.returncode == 2, str(upgrade)
    result = upgrade.result(f"package:{name}")
    assert result["changes"] == [{"property": "ensure", "from": "1.0", "to": "2.0"}]
    assert result["drift"] is False
    assert dpkg_version(name, root) == "2.0"
    again = site.apply()
    assert again.returncode == 0 and not again.result(f"package:{name}")["drift"], again


def test_a_wrong_key_names_the_missing_key(site: Site, signed: SignedRepo, tmp_path: Path) -> None:
    name = signed.add("unsigned", "1.0")
    wrong = SignedRepo(signed.path, signed.work, signed.token)
    wrong.home = Path(f"/tmp/tend-gpg-{signed.token}w")
    wrong.home.mkdir(mode=0o700)
    try:
        other = wrong.new_key()
        fingerprint = signed.gpg("--list-keys", "--with-colons").split("fpr:::::::::")[1].split(":")[0]
    finally:
        subprocess.run(["gpgconf", "--homedir", str(wrong.home), "--kill", "all"], check=False)
        shutil.rmtree(wrong.home, ignore_errors=True)
    rooted(site, tmp_path)
    key = "|\n      " + other.strip().replace("\n", "\n      ")
    site.manifest(SOURCE.format(path=signed.path, key=key, name=name))
    run = site.apply()
    assert run.returncode == 6, str(run)
    error = run.result(f"package:{name}")["error"]
    assert error.startswith("apt-get update failed: ") and "is not signed" in error, error
    assert f"NO_PUBKEY {fingerprint[-16:]}" in error, error


@pytest.fixture
def host_site(site: Site, apt_repo: AptRepo) -> Site:
    site.env = apt_repo.env()
    return site


def test_hold_and_rehold_across_a_version_change(host_site: Site, apt_repo: AptRepo) -> None:
    name = apt_repo.add("held", "1.0")
    apt_repo.add("held", "2.0")
    manifest = f"""
        resources:
          - package: {name}
            ensure: "VERSION"
            hold: true
    """
    host_site.manifest(manifest.replace("VERSION", "1.0"))
    first = host_site.apply()
    assert first.returncode == 2, str(first)
    assert dpkg_version(name) == "1.0" and dpkg_status(name) == "hi "
    assert host_site.apply().returncode == 0
    host_site.manifest(manifest.replace("VERSION", "2.0"))
    upgrade = host_site.apply()
    assert upgrade.returncode == 2, str(upgrade)
    assert dpkg_version(name) == "2.0" and dpkg_status(name) == "hi "  # unheld for the change, held again
    assert host_site.apply().returncode == 0
    host_site.manifest(manifest.replace("VERSION", "2.0").replace("hold: true", "hold: false"))
    released = host_site.apply()
    assert released.result(f"package:{name}")["changes"] == [{"property": "hold", "from": True, "to": False}]
    assert dpkg_status(name) == "ii "


def test_install_recommends_on_and_off(host_site: Site, apt_repo: AptRepo) -> None:
    extra = apt_repo.add("extra", "1.0")
    with_off = apt_repo.add("lean", "1.0", recommends="extra")
    with_on = apt_repo.add("full", "1.0", recommends="extra")
    host_site.manifest(f"""
        resources:
          - package: {with_off}
            install_recommends: false
    """)
    assert host_site.apply().returncode == 2
    assert dpkg_version(with_off) == "1.0" and dpkg_version(extra) is None
    host_site.manifest(f"""
        resources:
          - package: {with_on}
            install_recommends: true
    """)
    assert host_site.apply().returncode == 2
    assert dpkg_version(with_on) == "1.0" and dpkg_version(extra) == "1.0"


def test_a_debconf_answer_is_read_by_the_postinst(host_site: Site, apt_repo: AptRepo, tmp_path: Path) -> None:
    out = tmp_path / "answer"
    name = apt_repo.add("asks", "1.0", debconf="greeting", postinst=f'db_get {{name}}/greeting\necho "$RET" > {out}')
    host_site.manifest(f"""
        resources:
          - package: {name}
            debconf:
              {name}/greeting: {{type: string, value: "hello from tend"}}
    """)
    run = host_site.apply()
    assert run.returncode == 2, str(run)
    assert out.read_text() == "hello from tend\n"


def test_a_broken_postinst_keeps_its_own_message(host_site: Site, apt_repo: AptRepo) -> None:
    name = apt_repo.add("broken", "1.0", postinst='echo "tendtest: the widget is not configured" >&2\nexit 1')
    host_site.manifest(f"""
        resources:
          - package: {name}
    """)
    run = host_site.apply()
    assert run.returncode == 4, str(run)
    error = run.result(f"package:{name}")["error"]
    assert "tendtest: the widget is not configured" in error, error
    assert "post-installation script subprocess returned error exit status 1" in error, error


@needs("strace")
def test_a_debconf_secret_reaches_no_argv_and_no_output(host_site: Site, apt_repo: AptRepo, tmp_path: Path) -> None:
    plaintext = f"LEAK-{os.urandom(4).hex()}-debconf"
    home = host_site.state / "gnupg"
    home.mkdir(parents=True, mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        subprocess.run([*gpg, "--quick-gen-key", "host <h@t>", "ed25519", "sign", "never"], check=True,
                       capture_output=True)  # fmt: skip
        listing = subprocess.run([*gpg, "--with-colons", "--list-keys"], check=True, capture_output=True, text=True)
        fingerprint = listing.stdout.split("fpr:::::::::")[1].split(":")[0]
        subprocess.run([*gpg, "--quick-add-key", fingerprint, "cv25519", "encr", "never"], check=True,
                       capture_output=True)  # fmt: skip
        message = subprocess.run([*gpg, "--trust-model", "always", "-r", fingerprint, "--encrypt"], check=True,
                                 input=plaintext.encode(), capture_output=True).stdout  # fmt: skip
        out = tmp_path / "answer"
        name = apt_repo.add("secret", "1.0", debconf="token", postinst=f'db_get {{name}}/token\necho "$RET" > {out}')
        host_site.manifest(f"""
            resources:
              - package: {name}
                debconf:
                  {name}/token: {{type: password, value: "{{{{ lookup('token') }}}}"}}
        """)
        common = host_site.repo / "data/common.yaml"
        common.write_text(common.read_text() + f"token: ENC[GPG,{base64.b64encode(message).decode()}]\n")
        log = tmp_path / "execve.log"
        run = host_site.apply(prefix=["strace", "-f", "-qq", "-e", "trace=execve", "-s", "65536", "-o", str(log)])
        assert run.returncode == 2, str(run)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    assert out.read_text() == plaintext + "\n"  # the package got it, through debconf
    assert "debconf-set-selections" in log.read_text()
    assert plaintext not in log.read_text()  # no argv of any process
    assert plaintext not in run.stdout + run.stderr
    for path in host_site.state.rglob("*"):
        if path.is_file() and "gnupg" not in path.parts:
            assert plaintext.encode() not in path.read_bytes(), path
