"""Signed control repos for the pull tests: real git, real gpg, an agent state directory, tend through the CLI.

Two signing keys are made once per session in a short GNUPGHOME under /tmp: `ops` (the one the agent
trusts) and `eve` (an admin whose public key sits in keys/admins/ but who is not in trusted_signers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT, run_tend

NO_PASSPHRASE = ("--pinentry-mode", "loopback", "--passphrase", "")
SHA = re.compile(r"^[0-9a-f]{40}$")
FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")
HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: Common
    path: common.yaml
"""


def _short_home(prefix: str) -> Path:
    """A GNUPGHOME short enough for gpg-agent's socket path (~100 characters at most)."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    home.chmod(0o700)
    return home


def kill_gpg_agents(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30, check=False)


def gpg(home: Path, *args: str, input: bytes | None = None) -> bytes:
    argv = ["gpg", "--homedir", str(home), "--batch", "--no-tty", *args]
    done = subprocess.run(argv, input=input, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, f"{argv}: {done.stderr.decode(errors='replace')}"
    return done.stdout


@dataclass(frozen=True)
class Signer:
    name: str
    fingerprint: str
    public: str  # the armored public key, as keys/admins/<name>.asc holds it


@dataclass(frozen=True)
class Keys:
    home: Path  # the admins' GNUPGHOME: both secret keys
    ops: Signer
    eve: Signer


@pytest.fixture(scope="session")
def keys() -> Iterator[Keys]:
    for tool in ("gpg", "gpgconf", "git"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    home = _short_home("tb-k-")
    try:
        made = {}
        for name in ("ops", "eve"):
            uid = f"{name} <{name}@bundles.test>"
            gpg(home, *NO_PASSPHRASE, "--quick-gen-key", uid, "ed25519", "sign", "never")
            colons = gpg(home, "--with-colons", "--list-keys", f"={uid}").decode()
            fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
            public = gpg(home, "--armor", "--export", fingerprint).decode()
            made[name] = Signer(name, fingerprint, public)
        yield Keys(home, made["ops"], made["eve"])
    finally:
        kill_gpg_agents(home)
        shutil.rmtree(home, ignore_errors=True)


class Origin:
    """The admins' control repository (branch main), committed to with or without a signature."""

    def __init__(self, path: Path, keys: Keys):
        self.path = path
        self.keys = keys
        self.env = {
            **os.environ,
            "GNUPGHOME": str(keys.home),
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "ops",
            "GIT_AUTHOR_EMAIL": "ops@bundles.test",
            "GIT_COMMITTER_NAME": "ops",
            "GIT_COMMITTER_EMAIL": "ops@bundles.test",
        }
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"git {args}: {done.stderr}"
        return done.stdout.strip()

    def write(self, files: Mapping[str, str]) -> None:
        for relative, content in files.items():
            target = self.path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def remove(self, relative: str) -> None:
        (self.path / relative).unlink()

    def commit(self, message: str, signer: Signer | None, files: Mapping[str, str] = {}) -> str:
        """Write `files`, commit everything (signed by `signer`, or unsigned), return the full sha."""
        self.write(files)
        self.git("add", "-A")
        sign = ["-c", f"user.signingkey={signer.fingerprint}", "commit", "-S"] if signer else ["commit"]
        self.git(*sign, "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def force(self, commit: str) -> None:
        """Force-push the branch back (or anywhere): what a replay attacker or a history rewrite does."""
        self.git("reset", "-q", "--hard", commit)


def control_repo(out: Path, content: str, *, checks: str = "", admins: tuple[Signer, ...] = ()) -> dict[str, str]:
    """A small control repo: one class writing OUT/app.conf (an absolute path: `tend run` has no --root)."""
    manifest = f"resources:\n  - file: {out}/app.conf\n    content: {json.dumps(content)}\n"
    if checks:
        manifest += "checks:\n" + textwrap.indent(textwrap.dedent(checks).strip("\n"), "  ") + "\n"
    files = {"hiera.yaml": HIERA, "data/common.yaml": "classes: [app]\n", "manifests/app.yaml": manifest}
    files.update({f"keys/admins/{signer.name}.asc": signer.public for signer in admins})
    return files


class Agent:
    """One host's agent: agent.yaml trusting `trusted`, and a state directory (short, under /tmp)."""

    def __init__(self, config: Path, state: Path, origin: Origin, trusted: tuple[str, ...]):
        self.config = config
        self.state = state
        self.origin = origin
        self.trust(*trusted)

    def trust(self, *fingerprints: str) -> None:
        self.config.write_text(
            f"source:\n  git: {self.origin.path}\n  branch: main\n  trusted_signers: [{', '.join(fingerprints)}]\n"
        )

    def tend(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run_tend([command, "--config", str(self.config), "--state-dir", str(self.state), *args])

    def json(self, command: str, *args: str) -> tuple[int, dict[str, Any], str]:
        done = self.tend(command, *args, "--json")
        assert done.stdout.strip(), done.stderr
        return done.returncode, json.loads(done.stdout), done.stderr

    @property
    def bundles(self) -> Path:
        return self.state / "bundles"

    def current(self) -> str | None:
        link = self.bundles / "current"
        return os.readlink(link) if link.is_symlink() else None

    def deployed(self) -> set[str]:
        return {p.name for p in self.bundles.iterdir() if SHA.match(p.name)} if self.bundles.is_dir() else set()

    def import_key(self, signer: Signer) -> None:
        (self.state / "gnupg").mkdir(mode=0o700, parents=True, exist_ok=True)
        gpg(self.state / "gnupg", "--import", input=signer.public.encode())

    def report_ids(self) -> list[str]:
        return [line.split()[0] for line in self.tend("report", "list").stdout.splitlines() if line.strip()]


@dataclass
class Site:
    keys: Keys
    origin: Origin
    agent: Agent
    out: Path  # where the manifests write


@pytest.fixture
def site(tmp_path: Path, keys: Keys) -> Iterator[Site]:
    """An origin repo, an agent trusting `ops`, and an output folder; gpg-agents stopped afterwards."""
    state = _short_home("tb-s-")
    out = tmp_path / "out"
    out.mkdir()
    origin = Origin(tmp_path / "origin", keys)
    try:
        yield Site(keys, origin, Agent(tmp_path / "agent.yaml", state, origin, (keys.ops.fingerprint,)), out)
    finally:
        kill_gpg_agents(state / "gnupg")
        shutil.rmtree(state, ignore_errors=True)


class _Health(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:  # http.server calls it by this name
        ok = self.path == "/healthz" and self.server.healthy
        body = b"ok\n" if ok else b"no\n"
        self.send_response(200 if ok else (503 if self.path == "/healthz" else 404))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HealthServer(ThreadingHTTPServer):
    """200 on /healthz while `healthy` (503 after), 404 elsewhere."""

    healthy = True

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def health() -> Iterator[HealthServer]:
    """A real HTTP server on 127.0.0.1, on a free port, in a thread."""
    server = HealthServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- the daemon as a child process ------------------------------------------------------------------------------


def start_daemon(site: Site, *flags: str) -> subprocess.Popen[str]:
    """`tend daemon` with the site's agent config and state, no TEND_* of ours, no machine facts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    env |= {"TEND_FACTS_FILE": "/nonexistent/f", "TEND_FACTS_DIR": "/nonexistent/d"}
    argv = [sys.executable, "-m", "agent", "daemon", "--config", str(site.agent.config)]
    argv += ["--state-dir", str(site.agent.state), *flags]
    return subprocess.Popen(argv, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], bool], child: subprocess.Popen[str], seconds: float = 60) -> None:
    """Poll `condition` until it holds, the daemon exits or the deadline passes (a guard, not a timing)."""
    deadline = time.monotonic() + seconds
    while not condition() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition(), "the daemon did not get there in time"


def stop_daemon(child: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM, then its stdout and stderr (killed if it does not stop within 30 s)."""
    try:
        child.send_signal(signal.SIGTERM)
        return child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
