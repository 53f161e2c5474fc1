"""Fault injection for tend: modes, seeds and figures, sites written from dicts, tend run as a child process.

Quick mode (the default, every CI run) keeps the slow loops short; `TEND_FAULTS=full` (`make faults`)
runs them at full length. Random choices come from one seed per session, printed in the summary;
`TEND_FAULTS_SEED=N` replays a failure. Tests hand figures (runs, kills, partial files found …) to
`figures`; the terminal summary prints them, also under pytest-xdist.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import PROJECT
from tests.helpers import HIERA, write_tree

FULL = os.environ.get("TEND_FAULTS", "quick") == "full"
MODE = "full" if FULL else "quick"


def _session_seed() -> int:
    """TEND_FAULTS_SEED, else one seed per test session: pytest-xdist's workers share their run's id."""
    if os.environ.get("TEND_FAULTS_SEED"):
        return int(os.environ["TEND_FAULTS_SEED"])
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run:
        return int(hashlib.sha256(run.encode()).hexdigest()[:8], 16) % 10**9
    return random.SystemRandom().randrange(1, 10**9)


SEED = _session_seed()
TEMP_NAME = re.compile(r"^\..+\.tend-[0-9a-f]{6}$")
_FIGURES = "faults-figure"

PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
GROUP = "root:x:0:\n"


def scaled(quick: int, full: int) -> int:
    """How many times a slow loop goes round in this mode."""
    return full if FULL else quick


def rng_for(name: str) -> random.Random:
    """A random source of its own for each test, derived from the session seed (so order does not matter)."""
    return random.Random(f"{SEED}:{name}")


# --- figures in the terminal summary ---------------------------------------------------------------------------


@pytest.fixture
def figures(record_property: Callable[[str, object], None], request: pytest.FixtureRequest) -> Callable[..., None]:
    """`figures(runs=12, kills=4)`: shown in the summary as `test name: runs=12 kills=4`."""

    def record(**values: object) -> None:
        record_property(_FIGURES, json.dumps({"test": request.node.name, "seed": SEED, **values}))

    return record


_collected: list[dict[str, Any]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _collected.extend(json.loads(value) for name, value in report.user_properties if name == _FIGURES)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # Under xdist the figures come from the workers, which share one seed (this process may have another).
    seed = next((entry["seed"] for entry in _collected), SEED)
    terminalreporter.write_sep("-", f"tend faults: {MODE} mode, seed {seed} (replay: TEND_FAULTS_SEED={seed})")
    for entry in sorted(_collected, key=lambda e: e["test"]):
        values = "  ".join(f"{k}={v}" for k, v in entry.items() if k not in ("test", "seed"))
        terminalreporter.write_line(f"{entry['test']}: {values}")


# --- running tend -----------------------------------------------------------------------------------------------


def tend_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """tests/conftest.py's environment for a tend child: no TEND_* of ours, no machine config or facts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    env |= {"TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent/f", "TEND_FACTS_DIR": "/nonexistent/d"}
    env["PYTHONPATH"] = str(PROJECT)
    return {**env, **(extra or {})}


def tend_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent", *args]


@dataclass
class Run:
    """One tend invocation: exit code, output, and the JSON report when --json was given."""

    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    def result(self, rid: str) -> dict[str, Any]:
        assert self.report is not None, str(self)
        found = [r for r in self.report["resources"] if r["id"] == rid]
        assert found, f"{rid} not in {[r['id'] for r in self.report['resources']]}"
        return found[0]

    @property
    def statuses(self) -> dict[str, str]:
        assert self.report is not None, str(self)
        return {r["id"]: r["status"] for r in self.report["resources"]}

    def __str__(self) -> str:
        return f"exit {self.returncode}\nstdout: {self.stdout[-3000:]}\nstderr: {self.stderr[-3000:]}"


def as_run(done: subprocess.CompletedProcess[str]) -> Run:
    text = done.stdout.strip()
    report = json.loads(text) if text.startswith("{") else None
    return Run(done.returncode, done.stdout, done.stderr, report)


@dataclass
class Site:
    """A control repository, a managed root (None: the real filesystem, paths under tmp only) and a state dir."""

    repo: Path
    root: Path | None
    state: Path

    def write(self, files: Mapping[str, str | bytes]) -> None:
        write_tree(self.repo, files)

    def manifest(self, text: str, name: str = "site") -> None:
        self.write({"data/common.yaml": f"classes: [{name}]\n", f"manifests/{name}.yaml": text})

    def path(self, managed: str) -> Path:
        assert self.root is not None
        return self.root / managed.lstrip("/")

    def argv(self, command: str = "apply", *args: str, json_report: bool = True, detailed: bool = True) -> list[str]:
        argv = [command, "--repo", str(self.repo), "--state-dir", str(self.state)]
        argv += ["--root", str(self.root)] if self.root is not None else []
        argv += ["--json"] if json_report else []
        argv += ["--detailed-exitcodes"] if detailed else []
        return [*argv, *args]

    def apply(self, *args: str, env: Mapping[str, str] | None = None, **options: Any) -> Run:
        done = subprocess.run(
            tend_argv(*self.argv("apply", *args, **options)),
            cwd=PROJECT,
            env=tend_env(env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        return as_run(done)

    def start(self, *args: str, env: Mapping[str, str] | None = None, **options: Any) -> subprocess.Popen[str]:
        """`tend apply` in the background, its output piped."""
        return subprocess.Popen(
            tend_argv(*self.argv("apply", *args, **options)),
            cwd=PROJECT,
            env=tend_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def state_json(self) -> dict[str, Any]:
        return json.loads((self.state / "state.json").read_text())

    def last_report(self) -> dict[str, Any]:
        return json.loads((self.state / "reports" / "last_run.json").read_text())


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A repo, and a root with its own passwd and group (ownership names resolve there under --root)."""
    repo, root = tmp_path / "repo", tmp_path / "root"
    write_tree(repo, {"hiera.yaml": HIERA})
    write_tree(root, {"etc/passwd": PASSWD, "etc/group": GROUP})
    return Site(repo, root, tmp_path / "state")


@pytest.fixture
def host_site(tmp_path: Path) -> Site:
    """A site applied without --root (execs run on the host): manifests must name paths under tmp_path only."""
    repo = tmp_path / "repo"
    write_tree(repo, {"hiera.yaml": HIERA})
    return Site(repo, None, tmp_path / "state")


def finish(child: subprocess.Popen[str], timeout: float = 120) -> Run:
    stdout, stderr = child.communicate(timeout=timeout)
    return as_run(subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr))


def wait_for(condition: Callable[[], object], timeout: float = 30, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def temp_files(*bases: Path) -> list[Path]:
    """Every file that tend's atomic writes leave while they are in flight (`.NAME.tend-XXXXXX`) under `bases`."""
    found = []
    for base in bases:
        for folder, _, names in os.walk(base):
            found += [Path(folder, n) for n in names if TEMP_NAME.match(n)]
    return sorted(found)


def wait_for_orphans(marker: str, timeout: float = 30) -> int:
    """Wait until no process has `marker` in its argv (children of a killed run finish); how many there were."""
    seen: set[int] = set()

    def gone() -> bool:
        alive = []
        for proc in psutil.process_iter(["cmdline", "status"]):
            try:
                cmdline = " ".join(proc.info["cmdline"] or [])
            except psutil.Error:
                continue
            if marker in cmdline and proc.pid != os.getpid() and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        seen.update(alive)
        return not alive

    wait_for(gone, timeout, f"processes naming {marker} to end")
    return len(seen)


def kill_orphans(marker: str) -> None:
    """SIGKILL the process groups of the commands a killed run left running (their argv names `marker`)."""
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []) and os.getpgid(proc.pid) != os.getpgid(0):
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
        except (psutil.Error, ProcessLookupError):
            continue
    wait_for_orphans(marker)


# --- mount namespaces -------------------------------------------------------------------------------------------


def _unshare_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs in a private mount namespace"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, timeout=30, check=False)
    return None if probe.returncode == 0 else f"unshare -m fails here: {probe.stderr.strip()}"


UNSHARE_PROBLEM = _unshare_problem()
needs_unshare = pytest.mark.skipif(UNSHARE_PROBLEM is not None, reason=UNSHARE_PROBLEM or "")


def in_namespace(script: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> Run:
    """Run `sh -c SCRIPT sh ARGS…` in a private mount namespace: mounts made there vanish with it.

    The script sees $PY (this Python) and $TEND (`$PY -m agent`), run from the project directory.
    """
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *args],
        cwd=PROJECT,
        env=tend_env({"PY": sys.executable, "TEND": f"{sys.executable} -m agent", **(env or {})}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return as_run(done)


# --- GnuPG ------------------------------------------------------------------------------------------------------

NO_PASSPHRASE = ("--pinentry-mode", "loopback", "--passphrase", "")


def short_home(prefix: str) -> Path:
    """A GNUPGHOME short enough for gpg-agent's socket path."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    home.chmod(0o700)
    return home


def gpg(home: Path, *args: str, input: bytes | None = None) -> bytes:
    argv = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--quiet", *args]
    done = subprocess.run(argv, input=input, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, f"{argv}: {done.stderr.decode(errors='replace')}"
    return done.stdout


def kill_gpg_agents(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30, check=False)


@dataclass(frozen=True)
class HostKey:
    name: str
    home: Path  # holds the secret key
    fingerprint: str
    public: str  # armored


@pytest.fixture(scope="session")
def host_keys() -> Iterator[dict[str, HostKey]]:
    """Two host keypairs made once: `web1` (the host under test) and `other` (a key that is not this host's)."""
    for tool in ("gpg", "gpgconf"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    made: dict[str, HostKey] = {}
    try:
        for name in ("web1", "other"):
            home = short_home(f"tf-{name}-")
            uid = f"{name} <{name}@faults.test>"
            gpg(home, *NO_PASSPHRASE, "--quick-gen-key", uid, "ed25519", "sign", "never")
            colons = gpg(home, "--with-colons", "--list-keys", uid).decode()
            fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
            gpg(home, *NO_PASSPHRASE, "--quick-add-key", fingerprint, "cv25519", "encr", "never")
            public = gpg(home, "--armor", "--export", fingerprint).decode()
            made[name] = HostKey(name, home, fingerprint, public)
        yield made
    finally:
        for key in made.values():
            kill_gpg_agents(key.home)
            shutil.rmtree(key.home, ignore_errors=True)
