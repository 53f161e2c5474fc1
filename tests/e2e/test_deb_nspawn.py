"""End to end on a real systemd, as a host runs tend: the .deb that packaging/build-deb makes, installed with
`apt-get install ./tend_*.deb` in a booted Debian 12 container, its timer enabled, and a run started by systemd
(`systemctl start tend.service`) pulling a signed control repository bind-mounted read-only at /srv/site.git.

The container boots from the cached root plus the package's Depends (derived once, see conftest.py) with
--private-network: the install resolves every dependency offline. Needs root; skipped with the reason where
debootstrap or nspawn cannot run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.e2e.conftest import Machine, boot, ensure_tools, make_derived_rootfs
from tests.integration.bundles.conftest import NO_PASSPHRASE, Keys, Origin, Signer, gpg, kill_gpg_agents

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0, reason="needs root (debootstrap, nspawn)")]

FOREIGN_UID = 4242  # owns the second repository: an admin's checkout, not root's
HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: Per role
    path: "roles/%{facts.role}.yaml"
  - name: Common
    path: common.yaml
"""
MANIFEST = """\
parameters:
  text: ""
resources:
  - file: /etc/tend-e2e.conf
    content: "{{ text }}"
    mode: "0644"
"""


def deb_dependencies() -> list[str]:
    """The package names in packaging/debian/control.in's Depends (versions and alternatives dropped)."""
    control = (PROJECT / "packaging/debian/control.in").read_text()
    depends = re.search(r"^Depends:(.*(?:\n[ \t].*)*)", control, re.M)
    assert depends, "no Depends in packaging/debian/control.in"
    return [re.split(r"[\s(|]", part.strip(), maxsplit=1)[0] for part in depends.group(1).split(",") if part.strip()]


@dataclass
class Host:
    machine: Machine
    package: Path
    installed: subprocess.CompletedProcess[str]  # apt-get install ./tend_*.deb
    ops: Signer
    commit: str  # the tip of /srv/site.git (root's)
    foreign_commit: str  # the tip of /srv/admin-site.git (FOREIGN_UID's, one commit after `commit`)

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.machine.run(*argv, timeout=timeout)

    def out(self, *argv: str) -> str:
        return self.run(*argv).stdout.strip()

    def write(self, path: str, text: str) -> None:
        done = subprocess.run(
            ["nsenter", "-t", str(self.machine.pid), "-a", "sh", "-c", 'cat > "$0"', path],
            input=text, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def configure(self, source: str) -> None:
        """agent.yaml: pull `source` (branch main) trusting only the ops key's full fingerprint."""
        self.write(
            "/etc/tend/agent.yaml",
            f"source:\n  git: {source}\n  branch: main\n  trusted_signers: [{self.ops.fingerprint}]\n"
            "interval: 30m\nsplay: 5m\n",
        )

    def journal(self, *wanted: str, timeout: float = 10) -> str:
        """`journalctl -u tend` once it holds every `wanted` text (journald takes the output a moment later)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.out("journalctl", "-u", "tend", "--no-pager")
            if all(w in text for w in wanted) or time.monotonic() > deadline:
                return text
            time.sleep(0.2)


@pytest.fixture(scope="module")
def ops() -> Iterator[tuple[Path, Signer]]:
    """The admins' signing key, in a short GNUPGHOME (gpg-agent's socket path)."""
    for tool in ("gpg", "gpgconf", "git", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    home = Path(tempfile.mkdtemp(prefix="te-k-", dir="/tmp"))
    home.chmod(0o700)
    try:
        uid = "ops <ops@e2e.test>"
        gpg(home, *NO_PASSPHRASE, "--quick-gen-key", uid, "ed25519", "sign", "never")
        colons = gpg(home, "--with-colons", "--list-keys", f"={uid}").decode()
        fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
        yield home, Signer("ops", fingerprint, gpg(home, "--armor", "--export", fingerprint).decode())
    finally:
        kill_gpg_agents(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, ops: tuple[Path, Signer]) -> Iterator[Host]:
    """A booted container with the freshly built .deb installed and /etc/tend/facts.yaml saying role web."""
    home, signer = ops
    keys = Keys(home, signer, signer)
    work = tmp_path_factory.mktemp("deb-e2e")
    build = [PROJECT / "packaging/build-deb", work / "dist"]
    built = subprocess.run(build, capture_output=True, text=True, timeout=120, check=False)
    if built.returncode != 0:
        pytest.fail(f"packaging/build-deb failed: {built.stderr}")
    package = Path(built.stdout.strip())

    # The control repo: the signer's public key in keys/admins/ (the agent keyring starts empty).
    site = Origin(work / "site", keys)
    commit = site.commit(
        "web role",
        signer,
        {
            "hiera.yaml": HIERA,
            "data/common.yaml": "classes: [motd]\n",
            "data/roles/web.yaml": 'motd::text: "served by the web role\\n"\n',
            "manifests/motd.yaml": MANIFEST,
            "keys/admins/ops.asc": signer.public,
        },
    )
    # The same history plus one commit, owned by another user (an admin's checkout bind-mounted as it is).
    admin = Origin(work / "admin-site", keys)
    admin.git("fetch", "-q", str(site.path), "main")
    admin.force("FETCH_HEAD")
    foreign_commit = admin.commit("v2", signer, {"data/roles/web.yaml": 'motd::text: "v2\\n"\n'})
    subprocess.run(["chown", "-R", f"{FOREIGN_UID}:{FOREIGN_UID}", str(admin.path)], check=True)

    ensure_tools()
    rootfs = make_derived_rootfs("deb", deb_dependencies())
    binds = (
        "--private-network",  # nothing is downloaded: the root holds the dependencies
        f"--bind-ro={package.parent}:/opt/dist",
        f"--bind-ro={site.path}:/srv/site.git",
        f"--bind-ro={admin.path}:/srv/admin-site.git",
    )
    with boot(rootfs, work / "nspawn.log", *binds, prefix="tend-deb") as machine:
        installed = machine.run(
            "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends",
            f"/opt/dist/{package.name}", timeout=300,
        )  # fmt: skip
        made = Host(machine, package, installed, signer, commit, foreign_commit)
        made.write("/etc/tend/facts.yaml", "{role: web, environment: e2e}\n")
        yield made


def test_deb_installs_enables_the_timer_and_a_systemd_run_converges_signed_code(host: Host) -> None:
    assert host.installed.returncode == 0, host.installed.stdout + host.installed.stderr
    assert host.out("dpkg-query", "-W", "-f=${Status} ${Version}", "tend").startswith("install ok installed")
    assert host.out("sh", "-c", "command -v tend") == "/usr/bin/tend"  # the package's, not a working tree
    assert host.out("systemctl", "is-enabled", "tend.timer") == "enabled"
    assert host.out("systemctl", "is-active", "tend.timer") == "active"  # postinst started it
    assert host.out("systemctl", "show", "-P", "Triggers", "tend.timer") == "tend.service"
    assert host.out("stat", "-c", "%a", "/var/lib/tend") == "700"

    host.configure("/srv/site.git")
    started = host.run("systemctl", "start", "tend.service", timeout=300)  # a oneshot: returns once the run ends
    journal = host.journal(f"deployed {host.commit[:12]}", "applied 1 resources: 1 changed")
    assert started.returncode == 0, started.stderr + journal
    assert host.out("systemctl", "show", "-P", "Result", "tend.service") == "success"
    assert host.out("systemctl", "show", "-P", "ExecMainStatus", "tend.service") == "0"

    assert host.out("cat", "/etc/tend-e2e.conf") == "served by the web role"  # role web, from facts.yaml
    assert host.out("stat", "-c", "%a %U", "/etc/tend-e2e.conf") == "644 root"

    assert f"tend: deployed {host.commit[:12]}" in journal, journal
    assert "changed        file:/etc/tend-e2e.conf (ensure)" in journal, journal
    assert "applied 1 resources: 1 changed" in journal, journal
    assert "Finished tend.service" in journal, journal
    # Besides its output, the run's own lines through syslog: the summary names the bundle.
    logged = host.journal(f"(bundle {host.commit[:12]})")
    assert f"(bundle {host.commit[:12]})" in logged, logged

    report = json.loads(host.out("cat", "/var/lib/tend/reports/last_run.json"))
    assert report["bundle"] == {"commit": host.commit, "signer": host.ops.fingerprint}
    assert re.fullmatch(r"[0-9a-f]{40}", report["bundle"]["commit"])
    assert re.fullmatch(r"[0-9A-F]{40}", report["bundle"]["signer"])
    assert (report["mode"], report["exit_code"], report["error"]) == ("apply", 0, None)
    assert [(r["id"], r["status"]) for r in report["resources"]] == [("file:/etc/tend-e2e.conf", "changed")]
    assert f"bundle {host.commit} signed by {host.ops.fingerprint}" in host.out("tend", "report", "last")
    assert host.out("readlink", "/var/lib/tend/bundles/current") == host.commit

    audit = host.run("tend", "audit", "verify")
    assert audit.returncode == 0, audit.stderr
    assert "chain intact" in audit.stdout


def test_pull_from_a_repository_owned_by_another_user(host: Host) -> None:
    assert host.out("stat", "-c", "%u", "/srv/admin-site.git") == str(FOREIGN_UID)
    host.configure("/srv/admin-site.git")
    started = host.run("systemctl", "start", "tend.service", timeout=300)
    assert started.returncode == 0, host.journal(timeout=0)[-1500:]  # today: "pull: git fetch: exited with status 128"
    assert f"deployed {host.foreign_commit[:12]}" in host.journal(f"deployed {host.foreign_commit[:12]}")
    assert host.out("systemctl", "show", "-P", "Result", "tend.service") == "success"
    assert host.out("cat", "/etc/tend-e2e.conf") == "v2"
    report = json.loads(host.out("cat", "/var/lib/tend/reports/last_run.json"))
    assert report["bundle"] == {"commit": host.foreign_commit, "signer": host.ops.fingerprint}
