"""End to end on a real systemd, as a host runs tend: the .deb that packaging/build-deb makes (debhelper), installed
with `apt-get install ./tend_*.deb` in a booted Debian 12 container, its timer enabled, and a run started by systemd
(`systemctl start tend.service`) pulling a signed control repository bind-mounted read-only at /srv/site.git.

Then the package's life: an upgrade to version N+1 (built here with TEND_DEB_VERSION) keeps the admin's conffile edit,
the timer, state and reports; remove and purge clean up but keep the host key; and a fleet upgrades tend itself
from a local apt repository, in a run that the upgrade does not kill.

The container boots from the cached root plus the package's Depends and man-db (derived once, see conftest.py)
with --private-network: every install resolves offline. Both packages are built once per module, and every test
puts the version it starts from in place itself, so each holds on whichever worker runs it. Needs root; skipped with
the reason where debootstrap or nspawn cannot run.
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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (debootstrap, nspawn)"),
]

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


MOTD_CLASS = "classes: [motd]\n"
# The fleet's own catalog for tend: a package resource, as any other package (version filled in).
TEND_CLASS = 'resources:\n  - package: tend\n    ensure: "{version}"\n'
APT_REPO = "/opt/repo"  # a flat local apt repository holding version N+1, bind-mounted read-only
APT_OPTIONS = [
    "-o", f"Dir::Etc::sourcelist={APT_REPO}/sources.list", "-o", "Dir::Etc::sourceparts=-",
    "-o", "Dir::State::Lists=/var/tmp/tend-apt/lists", "-o", "Dir::Cache=/var/tmp/tend-apt/cache",
    "-o", "APT::Get::List-Cleanup=0",
]  # fmt: skip
INSTALL = ("DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends")
KEPT_KEY = "kept this host's key in /var/lib/tend/gnupg"


def deb_dependencies() -> list[str]:
    """The package names in the Depends of packaging/debian/control's binary package (substitutions,
    versions and alternatives dropped)."""
    control = (PROJECT / "packaging/debian/control").read_text()
    depends = re.search(r"^Depends:(.*(?:\n[ \t].*)*)", control, re.M)
    assert depends, "no Depends in packaging/debian/control"
    parts = [part.strip() for part in depends.group(1).split(",")]
    return [re.split(r"[\s(|]", part, maxsplit=1)[0] for part in parts if part and not part.startswith("$")]


def tend_version() -> str:
    found = re.search(r'^__version__ = "(.*)"$', (PROJECT / "agent/__init__.py").read_text(), re.M)
    assert found
    return found.group(1)


@dataclass
class Host:
    machine: Machine
    package: Path  # version N, this tree's
    upgrade: Path  # version N+1: the same code, built with TEND_DEB_VERSION
    installed: subprocess.CompletedProcess[str]  # apt-get install ./tend_*.deb
    ops: Signer
    commit: str  # the tip of /srv/site.git (root's)
    foreign_commit: str  # the tip of /srv/admin-site.git (FOREIGN_UID's, one commit after `commit`)
    fleet_commit: str  # the tip of /srv/fleet-site.git (one commit after `foreign_commit`: tend N+1 in the catalog)

    @property
    def new_version(self) -> str:
        return self.upgrade.name.split("_")[1]

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

    def configure(self, source: str, extra: str = "") -> None:
        """agent.yaml: pull `source` (branch main) trusting only the ops key's full fingerprint."""
        self.write(
            "/etc/tend/agent.yaml",
            f"source:\n  git: {source}\n  branch: main\n  trusted_signers: [{self.ops.fingerprint}]\n"
            f"interval: 30m\nsplay: 5m\n{extra}",
        )

    def journal(self, *wanted: str, timeout: float = 10, invocation: str = "") -> str:
        """`journalctl -u tend` (or one run's lines) once it holds every `wanted` text (journald takes the output a
        moment later)."""
        # A run's own lines carry _SYSTEMD_INVOCATION_ID, systemd's lines about it INVOCATION_ID.
        which = (
            [f"_SYSTEMD_INVOCATION_ID={invocation}", "+", f"INVOCATION_ID={invocation}"]
            if invocation
            else ["-u", "tend"]
        )
        deadline = time.monotonic() + timeout
        while True:
            text = self.out("journalctl", *which, "--no-pager")
            if all(w in text for w in wanted) or time.monotonic() > deadline:
                return text
            time.sleep(0.2)

    def apt(self, *argv: str) -> subprocess.CompletedProcess[str]:
        done = self.run("DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q", *argv, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def install(self, package: Path) -> subprocess.CompletedProcess[str]:
        """Install `package` (from /opt/dist) whatever is installed now: absent, purged, older or newer."""
        return self.apt("install", "--no-install-recommends", "--allow-downgrades", f"/opt/dist/{package.name}")

    def version(self) -> str:
        return self.out("dpkg-query", "-W", "-f=${Status} ${Version}", "tend")

    def start_run(self) -> tuple[subprocess.CompletedProcess[str], str]:
        """`systemctl start tend.service` (a oneshot: returns once the run ends), and that run's invocation id.

        First, the run the timer may have started at install is waited for until its cgroup is gone: in this
        nested container systemd cannot kill a cgroup (EIO), and a start while the last run's is still torn
        down fails with 219/CGROUP. What was left in it, if anything, is printed."""
        cgroup = "/sys/fs/cgroup/system.slice/tend.service"
        left = self.run(
            "sh", "-c", f"for i in $(seq 100); do [ -d {cgroup} ] || exit 0; sleep 0.1; done; "
            f"ps -o pid,args -p \"$(tr '\\n' ' ' < {cgroup}/cgroup.procs)\"",
        )  # fmt: skip
        if left.stdout.strip():
            print(f"left in tend.service's cgroup after its last run:\n{left.stdout}")
        started = self.run("systemctl", "start", "tend.service", timeout=300)
        return started, self.out("systemctl", "show", "-P", "InvocationID", "tend.service")


def build_packages(dist: Path) -> tuple[Path, Path]:
    """Version N (this tree) and N+1 (the same code, TEND_DEB_VERSION=N+e2e1)."""
    made = []
    for version in (None, f"{tend_version()}+e2e1"):
        env = {k: v for k, v in os.environ.items() if k != "TEND_DEB_VERSION"}
        env.update({"TEND_DEB_VERSION": version} if version else {})
        built = subprocess.run(
            [PROJECT / "packaging/build-deb", dist], capture_output=True, text=True, env=env, timeout=300, check=False
        )
        if built.returncode != 0:
            pytest.fail(f"packaging/build-deb failed: {built.stderr}")
        made.append(Path(built.stdout.strip()))
    return made[0], made[1]


def local_apt_repository(repo: Path, package: Path) -> None:
    """A flat repository of `package`, with a Release file (apt then prints no "blank filename" errors)."""
    repo.mkdir()
    shutil.copy(package, repo)
    scanned = subprocess.run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo, capture_output=True, text=True)
    (repo / "Packages").write_text(scanned.stdout)
    release = subprocess.run(["apt-ftparchive", "release", "."], cwd=repo, capture_output=True, text=True)
    (repo / "Release").write_text(release.stdout)
    (repo / "sources.list").write_text(f"deb [trusted=yes] file:{APT_REPO} ./\n")


@pytest.fixture(scope="module")
def ops() -> Iterator[tuple[Path, Signer]]:
    """The admins' signing key, in a short GNUPGHOME (gpg-agent's socket path)."""
    for tool in ("gpg", "gpgconf", "git", "dpkg-deb", "dpkg-buildpackage", "dpkg-scanpackages", "apt-ftparchive"):
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
    package, upgrade = build_packages(work / "dist")
    local_apt_repository(work / "repo", upgrade)

    # The control repo: the signer's public key in keys/admins/ (the agent keyring starts empty).
    site = Origin(work / "site", keys)
    commit = site.commit(
        "web role",
        signer,
        {
            "hiera.yaml": HIERA,
            "data/common.yaml": MOTD_CLASS,
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
    # And one more on top: the fleet puts tend N+1 in its catalog (a descendant, so no host refuses it as a replay).
    fleet = Origin(work / "fleet-site", keys)
    fleet.git("fetch", "-q", str(admin.path), "main")
    fleet.force("FETCH_HEAD")
    fleet_files = {
        "data/common.yaml": "classes: [motd, tend]\n",
        "manifests/tend.yaml": TEND_CLASS.format(version=upgrade.name.split("_")[1]),
    }
    fleet_commit = fleet.commit("tend N+1 on every host", signer, fleet_files)
    subprocess.run(["chown", "-R", f"{FOREIGN_UID}:{FOREIGN_UID}", str(admin.path)], check=True)

    ensure_tools()
    rootfs = make_derived_rootfs("deb", [*deb_dependencies(), "man-db"])
    binds = (
        "--private-network",  # nothing is downloaded: the root holds the dependencies
        f"--bind-ro={package.parent}:/opt/dist",
        f"--bind-ro={work / 'repo'}:{APT_REPO}",
        f"--bind-ro={site.path}:/srv/site.git",
        f"--bind-ro={admin.path}:/srv/admin-site.git",
        f"--bind-ro={fleet.path}:/srv/fleet-site.git",
    )
    with boot(rootfs, work / "nspawn.log", *binds, prefix="tend-deb") as machine:
        installed = machine.run(*INSTALL, f"/opt/dist/{package.name}", timeout=300)
        made = Host(machine, package, upgrade, installed, signer, commit, foreign_commit, fleet_commit)
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
    # DESIGN §8.20: a clean full apply also says since when the host has converged this commit.
    assert report["bundle"].pop("converged_since") == report["finished"]
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
    assert report["bundle"].pop("converged_since") == report["finished"]
    assert report["bundle"] == {"commit": host.foreign_commit, "signer": host.ops.fingerprint}


def snapshot(host: Host) -> str:
    """What a package operation must keep: the drift state, the last report and the list of stored reports."""
    return host.out("sh", "-c", "cd /var/lib/tend && sha256sum state.json reports/last_run.json && ls reports")


def converge_and_key(host: Host) -> None:
    """A run of the admin's repository (state and reports), and the host's key made by `tend keys init`."""
    host.write("/etc/tend/facts.yaml", "{role: web, environment: e2e}\n")
    host.configure("/srv/admin-site.git", extra="# edited by the admin\n")
    started, _ = host.start_run()
    assert started.returncode == 0, host.journal(timeout=0)[-1500:]
    if host.run("test", "-d", "/var/lib/tend/gnupg/private-keys-v1.d").returncode != 0:
        keyed = host.run("tend", "keys", "init", "--name", "web1")
        assert keyed.returncode == 0, keyed.stderr


def test_upgrade_keeps_the_admins_edit_the_timer_state_and_reports(host: Host) -> None:
    host.install(host.package)
    converge_and_key(host)
    assert host.version() == f"install ok installed {tend_version()}"
    before = snapshot(host)
    assert "state.json" in before and "last_run.json" in before

    host.install(host.upgrade)
    assert host.version() == f"install ok installed {host.new_version}"
    assert "# edited by the admin" in host.out("cat", "/etc/tend/agent.yaml")  # the conffile edit, kept
    assert host.out("find", "/etc/tend", "-name", "*.dpkg-*") == ""  # and no prompt or copy beside it
    assert host.out("systemctl", "is-enabled", "tend.timer") == "enabled"
    assert host.out("systemctl", "is-active", "tend.timer") == "active"
    assert snapshot(host) == before
    assert host.out("tend", "--version") == f"tend {host.new_version}"


def test_modules_on_tends_own_path_only_byte_compiled_with_a_man_page_and_completion(host: Host) -> None:
    host.install(host.package)
    outside = host.run("python3", "-c", "import agent")
    assert outside.returncode == 1 and "No module named 'agent'" in outside.stderr
    assert host.run("test", "-e", "/usr/lib/python3/dist-packages/agent").returncode == 1
    inside = host.run(
        "python3", "-c", "import sys; sys.path.insert(0, '/usr/share/tend'); import agent; print(agent.__file__)"
    )
    assert inside.stdout.strip() == "/usr/share/tend/agent/__init__.py", inside.stderr
    assert host.out("sh", "-c", "ls /usr/share/tend/agent/cli/__pycache__").count(".pyc") >= 10  # py3compile at install

    page = host.run("man", "tend")
    assert page.returncode == 0, page.stderr
    assert "tend - masterless configuration-management agent" in page.stdout and "keys init" in page.stdout
    script = 'source "$0"; COMP_WORDS=(tend ke); COMP_CWORD=1; _tend; echo "${COMPREPLY[@]}"'
    completion = host.run("bash", "-c", script, "/usr/share/bash-completion/completions/tend")
    assert completion.stdout.strip() == "keys", completion.stderr


def test_remove_stops_the_timer_and_keeps_config_and_state_and_purge_keeps_only_the_key(host: Host) -> None:
    host.install(host.package)
    converge_and_key(host)
    before = snapshot(host)

    host.apt("remove", "tend")
    assert host.out("systemctl", "show", "-P", "LoadState", "tend.timer") == "not-found"
    assert host.out("systemctl", "is-active", "tend.timer") == "inactive"
    assert "tend.timer" not in host.out("systemctl", "list-timers", "--no-legend")  # no longer scheduled
    assert "# edited by the admin" in host.out("cat", "/etc/tend/agent.yaml")
    assert snapshot(host) == before
    assert host.run("test", "-e", "/usr/share/tend").returncode == 1  # the bytecode went with the modules

    purged = host.apt("purge", "tend")
    assert KEPT_KEY in purged.stdout + purged.stderr
    assert "rm -rf /var/lib/tend" in purged.stdout + purged.stderr  # how to delete it, deliberately
    assert host.out("ls", "-A", "/var/lib/tend") == "gnupg"
    assert host.out("ls", "/var/lib/tend/gnupg/private-keys-v1.d").endswith(".key")
    assert host.run("test", "-e", "/etc/tend/agent.yaml").returncode == 1
    assert host.out("dpkg-query", "-W", "-f=${db:Status-Status}", "tend") in ("", "not-installed")


def test_a_run_that_upgrades_tend_itself_finishes_and_the_next_run_is_the_new_version(host: Host) -> None:
    host.install(host.package)
    host.write("/etc/tend/facts.yaml", "{role: web, environment: e2e}\n")
    host.configure("/srv/fleet-site.git", extra=f"apt: {{options: {json.dumps(APT_OPTIONS)}}}\n")
    host.run("mkdir", "-p", "/var/tmp/tend-apt/lists/partial", "/var/tmp/tend-apt/cache/archives/partial")
    host.apt(*APT_OPTIONS, "update")
    # Each run's first line: the version /usr/bin/tend is at the moment systemd starts it (a test-only drop-in).
    host.run("mkdir", "-p", "/etc/systemd/system/tend.service.d")
    host.write("/etc/systemd/system/tend.service.d/version.conf", "[Service]\nExecStartPre=/usr/bin/tend --version\n")
    host.run("systemctl", "daemon-reload")
    try:
        started, upgrading = host.start_run()
        journal = host.journal(f"tend {tend_version()}", "Deactivated successfully", invocation=upgrading)
        assert started.returncode == 0, journal[-2000:]
        assert host.out("systemctl", "show", "-P", "Result", "tend.service") == "success"
        assert "Stopping" not in journal and "Stopped" not in journal, journal  # the postinst left the run alone
        assert host.version() == f"install ok installed {host.new_version}"
        report = json.loads(host.out("cat", "/var/lib/tend/reports/last_run.json"))
        assert report["bundle"]["commit"] == host.fleet_commit
        assert (report["exit_code"], report["error"]) == (0, None)
        assert ("package:tend", "changed") in [(r["id"], r["status"]) for r in report["resources"]]

        started, following = host.start_run()
        journal = host.journal(f"tend {host.new_version}", invocation=following)
        assert started.returncode == 0 and f"tend {host.new_version}" in journal, journal[-2000:]
        report = json.loads(host.out("cat", "/var/lib/tend/reports/last_run.json"))
        assert ("package:tend", "unchanged") in [(r["id"], r["status"]) for r in report["resources"]]
    finally:
        host.run("rm", "-r", "/etc/systemd/system/tend.service.d")
        host.run("systemctl", "daemon-reload")
