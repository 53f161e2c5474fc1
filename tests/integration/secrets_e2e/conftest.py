"""A fleet of five hosts and one admin simulated on one machine, with real GnuPG keys, driven through the CLI.

Keys are generated once per session, each principal in its own short GNUPGHOME under /tmp. The
control repository gets its secrets through `tend secrets set` once per session; every test works
on its own copy (`site`), with per-host state directories holding a copy of that host's keyring.
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT

HOSTS = {"web1": "web", "web2": "web", "app1": "app", "db1": "db", "mon1": "mon"}
ADMIN = "ops"
NO_PASSPHRASE = ("--pinentry-mode", "loopback", "--passphrase", "")

# (file, key) -> plaintext, in the order they are set. Every plaintext carries MARK, so a partial or
# truncated leak is found too. prod::mon_token goes first: manifests/mon.yaml looks it up as a whole
# `{{ lookup(...) }}`, which derivation cannot yet tolerate while the key is missing (see
# test_derivation_tolerates_a_missing_key_looked_up_natively).
MARK = "do-not-print"
SECRETS: dict[tuple[str, str], str] = {
    ("hieradata/environments/prod.yaml", "prod::mon_token"): "LEAK-5d07-mon-token-do-not-print",
    ("hieradata/roles/db.yaml", "db::password"): "LEAK-7f3a-db-password-do-not-print",
    ("hieradata/environments/prod.yaml", "shared::db_token"): "LEAK-91c2-db-token-do-not-print",
    ("hieradata/roles/web.yaml", "web::tls_key"): "-----BEGIN KEY-----\nLEAK-c4e8-tls-do-not-print\n-----END KEY-----",
    # Decrypted plaintext is never interpolated: the %{...} must reach the file as written.
    ("hieradata/common.yaml", "site::everyone"): "LEAK-2b6f-everyone-do-not-print %{facts.hostname}",
    ("hieradata/common.yaml", "site::unused"): "LEAK-e310-unused-do-not-print",
}
PLAIN = {key: value for (_, key), value in SECRETS.items()}
FILE_OF = {key: file for (file, key) in SECRETS}
ALL_HOSTS = frozenset(HOSTS)
READERS: dict[str, frozenset[str]] = {
    "db::password": frozenset({"db1", ADMIN}),
    "shared::db_token": frozenset({"app1", "db1", ADMIN}),
    "prod::mon_token": frozenset({"mon1", ADMIN}),
    "web::tls_key": frozenset({"web1", "web2", ADMIN}),
    "site::everyone": ALL_HOSTS | {ADMIN},
    "site::unused": frozenset({ADMIN}),
}

REPO_FILES = {
    "hiera.yaml": """\
        version: 5
        defaults: {datadir: hieradata, data_hash: yaml_data}
        hierarchy:
          - name: Per node
            path: nodes/%{facts.hostname}.yaml
          - name: Per role
            path: roles/%{facts.role}.yaml
          - name: Per environment
            path: environments/%{facts.environment}.yaml
          - name: Common
            path: common.yaml
        """,
    "hieradata/common.yaml": """\
        # every host
        classes: [base]
        base::motd: "welcome to %{facts.hostname}"
        """,
    "hieradata/environments/prod.yaml": """\
        # production: every host shares this file, the web hosts use none of its secrets
        prod::region: eu-west
        shared::db_token: to-be-set  # with tend secrets set
        prod::tier: gold
        """,
    "hieradata/roles/web.yaml": "classes: [web]\n",
    "hieradata/roles/app.yaml": "classes: [app]\n",
    "hieradata/roles/db.yaml": "classes: [db]\ndb::port: 5432\n",
    "hieradata/roles/mon.yaml": "classes: [mon]\n",
    "manifests/base.yaml": """\
        parameters:
          motd: unset
        resources:
          - file: /etc/e2e
            ensure: directory
          - file: /etc/e2e/motd
            content: "{{ motd }}\\n"
          - file: /etc/e2e/site.token
            content: "{{ lookup('site::everyone') }}\\n"
        """,
    "manifests/web.yaml": """\
        resources:
          - file: /etc/e2e/web.key
            content: "{{ lookup('web::tls_key') }}\\n"
        """,
    "manifests/app.yaml": """\
        resources:
          - file: /etc/e2e/app.env
            template: app.env.j2
        """,
    "templates/app.env.j2": "REGION={{ lookup('prod::region') }}\nDB_TOKEN={{ lookup('shared::db_token') }}\n",
    "manifests/db.yaml": """\
        parameters:
          password: null
          port: 0
        resources:
          - file: /etc/e2e/db.env
            content: "PORT={{ port }}\\nPASSWORD={{ password }}\\nTOKEN={{ lookup('shared::db_token') }}\\n"
        """,
    "manifests/mon.yaml": """\
        resources:
          - file: /etc/e2e/mon.token
            content: "{{ lookup('prod::mon_token') }}"
        """,
}


def expected_files(host: str, role: str | None = None) -> dict[str, str]:
    """What a converged root of `host` (in `role`, default its inventory role) holds under /etc/e2e."""
    role = role or HOSTS[host]
    files = {
        "etc/e2e/motd": f"welcome to {host}\n",
        "etc/e2e/site.token": PLAIN["site::everyone"] + "\n",
    }
    if role == "web":
        files["etc/e2e/web.key"] = PLAIN["web::tls_key"] + "\n"
    elif role == "app":
        files["etc/e2e/app.env"] = f"REGION=eu-west\nDB_TOKEN={PLAIN['shared::db_token']}\n"
    elif role == "db":
        files["etc/e2e/db.env"] = f"PORT=5432\nPASSWORD={PLAIN['db::password']}\nTOKEN={PLAIN['shared::db_token']}\n"
    elif role == "mon":
        files["etc/e2e/mon.token"] = PLAIN["prod::mon_token"]
    return files


def write_tree(base: Path, files: Mapping[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))


def kill_agents(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30, check=False)


def start_agent(home: Path) -> None:
    """Start the home's gpg-agent now, so that a traced run connects to it instead of spawning a daemon
    (strace -f would follow the daemon and never return)."""
    subprocess.run(["gpg-connect-agent", "--homedir", str(home), "/bye"], capture_output=True, timeout=30, check=True)


def run_tend(
    args: Sequence[str],
    *,
    cwd: Path,
    home: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    strace_log: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m agent ARGS` as tests/conftest.py runs it, with HOME set aside and no GNUPGHOME unless given.

    `strace_log`: run under `strace -f -e trace=execve` so the argv of every child process lands in it.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith("TEND_") and k != "GNUPGHOME"}
    base.update(
        TEND_CONFIG="/dev/null",
        TEND_FACTS_FILE="/nonexistent/facts.yaml",
        TEND_FACTS_DIR="/nonexistent/facts.d",
        HOME=str(home),
        PYTHONPATH=str(PROJECT),
    )
    argv = [sys.executable, "-m", "agent", *args]
    if strace_log is not None:
        argv = ["strace", "-f", "-qq", "-e", "trace=execve", "-s", "65536", "-o", str(strace_log), *argv]
    return subprocess.run(
        argv, cwd=cwd, input=input, env={**base, **(env or {})}, capture_output=True, text=True, timeout=120
    )


@dataclass
class Principal:
    name: str
    home: Path
    fingerprint: str
    subkeys: frozenset[str]  # encryption subkey IDs (16 hex, upper case)


@dataclass
class Keyring:
    """One GnuPG home per principal (the hosts' agent keyrings and the admin's ~/.gnupg)."""

    base: Path
    principals: dict[str, Principal] = field(default_factory=dict)

    def gpg(self, home: Path, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        argv = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--trust-model", "always", *args]
        done = subprocess.run(argv, input=input, capture_output=True, timeout=120, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{argv} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
        return done.stdout + (b"" if check else done.stderr)

    def generate(self, name: str) -> None:
        home = self.base / "g" / name
        home.mkdir(parents=True, mode=0o700)
        self.gpg(home, *NO_PASSPHRASE, "--quick-gen-key", f"{name} <{name}@e2e.test>", "ed25519", "sign", "never")
        fingerprint = _colons(self.gpg(home, "--with-colons", "--list-keys"), "fpr")[0][9]
        self.gpg(home, *NO_PASSPHRASE, "--quick-add-key", fingerprint, "cv25519", "encr", "never")
        subkeys = frozenset(f[4].upper() for f in _colons(self.gpg(home, "--with-colons", "--list-keys"), "sub"))
        self.principals[name] = Principal(name, home, fingerprint, subkeys)

    def home(self, name: str) -> Path:
        return self.principals[name].home

    def export(self, name: str) -> str:
        return self.gpg(self.home(name), "--armor", "--export", self.principals[name].fingerprint).decode()

    def export_secret(self, name: str) -> str:
        p = self.principals[name]
        return self.gpg(p.home, *NO_PASSPHRASE, "--armor", "--export-secret-keys", p.fingerprint).decode()

    @property
    def public_home(self) -> Path:
        """A home holding every public key and no secret one, for encrypting like an outsider would."""
        home = self.base / "pub"
        if not home.exists():
            home.mkdir(mode=0o700)
            for name in self.principals:
                self.gpg(home, "--import", input=self.export(name).encode())
        return home

    def encrypt(self, plaintext: str, names: Sequence[str], *options: str) -> bytes:
        """A binary message made by plain `gpg --encrypt -r FPR` (gpg picks each key's encryption subkey)."""
        recipients = [a for n in names for a in ("--recipient", self.principals[n].fingerprint)]
        return self.gpg(self.public_home, "--encrypt", *options, *recipients, input=plaintext.encode())

    def readers(self, enc: str) -> set[str]:
        """Who a `ENC[GPG,...]` value is encrypted to, from `gpg --list-packets` in an empty home."""
        compact = "".join(enc.split())
        assert compact.startswith("ENC[GPG,") and compact.endswith("]"), enc
        message = base64.b64decode(compact[len("ENC[GPG,") : -1], validate=True)
        empty = self.base / "empty"
        empty.mkdir(mode=0o700, exist_ok=True)
        listing = self.gpg(empty, "--list-packets", input=message, check=False).decode(errors="replace")
        ids = re.findall(r"^:pubkey enc packet: .*keyid ([0-9A-Fa-f]{16})", listing, re.MULTILINE)
        assert ids, listing
        by_subkey = {k: p.name for p in self.principals.values() for k in p.subkeys}
        return {by_subkey.get(i.upper(), f"unknown:{i.upper()}") for i in ids}

    def close(self) -> None:
        for home in [*(p.home for p in self.principals.values()), self.base / "pub", self.base / "empty"]:
            if home.exists():
                kill_agents(home)


def _colons(listing: bytes, record: str) -> list[list[str]]:
    return [line.split(":") for line in listing.decode().splitlines() if line.startswith(record + ":")]


@pytest.fixture(scope="session")
def keyring() -> Iterator[Keyring]:
    if shutil.which("gpg") is None or shutil.which("gpgconf") is None:
        pytest.skip("gpg is not installed (Debian: apt-get install gnupg)")
    # Short and under /tmp: gpg-agent's socket path breaks past ~100 characters.
    base = Path(tempfile.mkdtemp(prefix="tse-", dir="/tmp"))
    ring = Keyring(base)
    try:
        for name in [*HOSTS, ADMIN]:
            ring.generate(name)
        yield ring
    finally:
        ring.close()
        shutil.rmtree(base, ignore_errors=True)


def write_fleet_repo(repo: Path, keyring: Keyring) -> None:
    write_tree(repo, REPO_FILES)
    for host in HOSTS:
        write_tree(repo, {f"keys/hosts/{host}.asc": keyring.export(host)})
    write_tree(repo, {f"keys/admins/{ADMIN}.asc": keyring.export(ADMIN)})
    inventory = {"hosts": {h: {"role": r, "environment": "prod"} for h, r in HOSTS.items()}, "admins": [ADMIN]}
    write_tree(repo, {"keys/inventory.yaml": yaml.safe_dump(inventory, sort_keys=False)})


@dataclass
class FleetRepo:
    """The session's control repository with every secret set, and what `secrets set` said about each."""

    path: Path
    set_output: dict[str, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def fleet_repo(keyring: Keyring) -> FleetRepo:
    repo = keyring.base / "repo"
    write_fleet_repo(repo, keyring)
    home = keyring.base / "home"
    home.mkdir(exist_ok=True)
    outputs = {}
    for (file, key), plaintext in SECRETS.items():
        done = run_tend(
            ["secrets", "set", file, key],
            cwd=repo,
            home=home,
            env={"GNUPGHOME": str(keyring.home(ADMIN))},
            input=plaintext + "\n",
        )
        assert done.returncode == 0, done.stderr
        outputs[key] = done
    return FleetRepo(repo, outputs)


_WORKSPACES = itertools.count()


class Site:
    """One test's copy of the fleet repository, with per-host state directories and roots."""

    def __init__(self, keyring: Keyring, fleet: FleetRepo):
        self.keyring = keyring
        self.base = keyring.base / "t" / str(next(_WORKSPACES))
        self.repo = self.base / "repo"
        self.home = self.base / "home"
        self.home.mkdir(parents=True)
        shutil.copytree(fleet.path, self.repo)
        self._homes: list[Path] = []

    # -- running tend ---------------------------------------------------------------------------------
    def tend(self, *args: str, **options) -> subprocess.CompletedProcess[str]:
        if options.get("strace_log") is not None:
            for home in [*self._homes, self.keyring.home(ADMIN)]:
                if home.is_dir():
                    start_agent(home)
        return run_tend(args, cwd=options.pop("cwd", self.repo), home=self.home, **options)

    def admin(self, *args: str, **options) -> subprocess.CompletedProcess[str]:
        """A command from the admin's shell: GNUPGHOME is the admin's own keyring."""
        return self.tend(*args, env={"GNUPGHOME": str(self.keyring.home(ADMIN))}, **options)

    def converge(self, command: str, host: str, *extra: str, root: Path | None = None, **options):
        """`tend apply|plan --repo R --host H --state-dir S --root ROOT` as host H (its keyring in S)."""
        root = root if root is not None else self.root(host)
        argv = [command, "--repo", str(self.repo), "--host", host, "--state-dir", str(self.state(host))]
        return self.tend(*argv, "--root", str(root), *extra, **options)

    # -- places ---------------------------------------------------------------------------------------
    def state(self, host: str, *, keyring: str | None = "") -> Path:
        """The state directory of `host`, its gnupg/ a copy of the host's keyring (keyring=None: none)."""
        directory = self.base / "s" / host
        if not directory.exists():
            directory.mkdir(parents=True)
            source = host if keyring == "" else keyring
            if source is not None:
                ignore = shutil.ignore_patterns("S.*", "*.lock", ".#*")
                shutil.copytree(self.keyring.home(source), directory / "gnupg", ignore=ignore)
            self._homes.append(directory / "gnupg")
        return directory

    def own_home(self, home: Path) -> None:
        """A GnuPG home the test made itself: its gpg-agent is stopped with the others'."""
        self._homes.append(home)

    def root(self, name: str) -> Path:
        """A filesystem root with an empty /etc (created once per name)."""
        directory = self.base / "r" / name
        (directory / "etc").mkdir(parents=True, exist_ok=True)
        return directory

    def write(self, files: Mapping[str, str | bytes]) -> None:
        write_tree(self.repo, files)

    def append(self, relative: str, text: str) -> None:
        path = self.repo / relative
        path.write_text(path.read_text() + text)

    def value(self, key: str, file: str | None = None) -> str:
        data = yaml.safe_load((self.repo / (file or FILE_OF[key])).read_text())
        value = data[key]
        assert isinstance(value, str) and value.startswith("ENC[GPG,"), value
        return value

    def readers(self, key: str, file: str | None = None) -> set[str]:
        return self.keyring.readers(self.value(key, file))

    def move(self, host: str, role: str) -> None:
        path = self.repo / "keys/inventory.yaml"
        inventory = yaml.safe_load(path.read_text())
        inventory["hosts"][host]["role"] = role
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))

    def close(self) -> None:
        for home in self._homes:
            if home.exists():
                kill_agents(home)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def site(keyring: Keyring, fleet_repo: FleetRepo) -> Iterator[Site]:
    made = Site(keyring, fleet_repo)
    try:
        yield made
    finally:
        made.close()


def managed_files(root: Path) -> dict[str, str]:
    """Every regular file under `root`, relative path -> text."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def leaks(text: str | bytes, secrets: Mapping[str, str] = PLAIN) -> list[str]:
    """The keys whose plaintext (or any piece carrying MARK) appears in `text`."""
    data = text.encode() if isinstance(text, str) else text
    found = [
        key
        for key, plain in secrets.items()
        if any(line.encode() in data for line in plain.splitlines() if MARK in line)
    ]
    if not found and MARK.encode() in data:
        found.append(f"something carrying {MARK!r}")
    return found
