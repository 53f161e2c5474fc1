"""W8: watch. `tend daemon --watch` over a signed bundle of 20 files: a file edited by hand, and the time until
the daemon has put it back (edit-to-revert; median and p95 over ~20 edits), against a `tend run` started at the
edit (the timer's way back); and the daemon's CPU while idle over a window (psutil), against the same daemon
without watch. Target: edit-to-revert within 1 s.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from bench import keyring
from bench.measure import Result, Settings, Timing
from bench.process import cache_dir, child_env, megabytes, run_child, tend_command

NAME = "W8 watch"
TARGET_S = 1.0
FILES = 20
HIERA = (
    "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - {name: Common, path: common.yaml}\n"
)


def _fingerprint(keys: keyring.KeySet) -> str:
    listing = keyring.gpg(keys.home, ["--with-colons", "--list-keys", "ops"]).decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def _site(scratch: Path, keys: keyring.KeySet) -> tuple[Path, Path]:
    """A signed control repo of FILES files under scratch/out, and agent.yaml trusting its signer."""
    origin, out = scratch / "origin", scratch / "out"
    out.mkdir()
    (origin / "data").mkdir(parents=True)
    (origin / "manifests").mkdir()
    (origin / "hiera.yaml").write_text(HIERA)
    (origin / "data/common.yaml").write_text("classes: [app]\n")
    (origin / "keys/admins").mkdir(parents=True)
    (origin / "keys/admins/ops.asc").write_bytes(keys.public["ops"])
    resources = "".join(f'  - file: {out}/f{n:02}.conf\n    content: "file {n}\\n"\n' for n in range(FILES))
    (origin / "manifests/app.yaml").write_text("resources:\n" + resources)
    fingerprint = _fingerprint(keys)
    env = {**os.environ, "GNUPGHOME": str(keys.home), "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=ops", "-c", "user.email=ops@bench", "-c", f"user.signingkey={fingerprint}"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-S", "-q", "-m", "watch"]):
        subprocess.run(["git", "-C", str(origin), *args], env=env, check=True, capture_output=True)
    config = scratch / "agent.yaml"
    config.write_text(f"source: {{git: {origin}, branch: main, trusted_signers: [{fingerprint}]}}\ninterval: 1h\n")
    return config, out


def _wait(condition: Callable[[], bool], seconds: float = 30) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > seconds:
            raise RuntimeError("the daemon did not revert the file in time")
        time.sleep(0.002)
    return time.perf_counter() - start


def _daemon(argv: list[str], env: dict[str, str], first: Path) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(first.exists, 60)
    time.sleep(1.0)  # the watches are set up after the first run
    return child


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _idle_cpu(child: subprocess.Popen[bytes], window: float) -> float:
    """CPU seconds the daemon used over `window` seconds of idleness."""
    process = psutil.Process(child.pid)
    before = process.cpu_times()
    time.sleep(window)
    after = process.cpu_times()
    return (after.user - before.user) + (after.system - before.system)


def run(settings: Settings) -> list[Result]:
    edits = 5 if settings.quick else 20
    window = 3.0 if settings.quick else 60.0
    with tempfile.TemporaryDirectory(prefix="tend-bench-watch-") as directory:
        scratch = Path(directory)
        keys = keyring.cached(cache_dir(settings.quick, scratch), "watch", ["ops"])
        config, out = _site(scratch, keys)
        env = child_env(
            cache_dir(settings.quick, scratch), {"TEND_FACTS_FILE": "/nonexistent", "TEND_FACTS_DIR": "/nonexistent"}
        )
        state = scratch / "state"
        base = [*tend_command(), "--config", str(config), "--state-dir", str(state)]
        last = state / "reports" / "last_run.json"
        child = _daemon([*base[:1], "daemon", *base[1:], "--watch"], env, last)
        reverts, runs = [], []
        try:
            for n in range(edits):
                target = out / f"f{n % FILES:02}.conf"
                target.write_text("edited by hand\n")
                reverts.append(_wait(lambda t=target, c=f"file {n % FILES}\n": t.read_text() == c))
            cpu = _idle_cpu(child, window)
            rss = psutil.Process(child.pid).memory_info().rss // 1024
        finally:
            _stop(child)
        for n in range(max(3, edits // 4)):
            target = out / f"f{n:02}.conf"
            target.write_text("edited by hand\n")
            runs.append(run_child([*base[:1], "run", *base[1:]], env=env).seconds)
        last.unlink()
        plain = _daemon([*base[:1], "daemon", *base[1:]], env, last)
        try:
            plain_cpu = _idle_cpu(plain, window)
        finally:
            _stop(plain)
        keyring.stop_agent(state / "gnupg")
    timing = Timing(tuple(reverts))
    p95 = statistics.quantiles(reverts, n=20)[-1] if len(reverts) >= 2 else reverts[0]
    verdict = "ok" if timing.median < TARGET_S and p95 < TARGET_S else "MISSED"
    return [
        Result(
            NAME, f"edit-to-revert ({edits} edits)", "time", 1, timing, Timing(tuple(runs)),
            "`tend run` started at the edit (the timer's way back)", None, rss,
            f"p95 {p95 * 1000:.0f} ms; target < {TARGET_S:.0f} s: {verdict}; daemon RSS {megabytes(rss)}",
        ),
        Result(
            NAME, f"idle CPU over {window:.0f} s", "time", 1, Timing((cpu,)), Timing((max(plain_cpu, 1e-6),)),
            "the same daemon without watch", None, 0,
            f"{cpu / window * 100:.3f}% of a core with watch, {plain_cpu / window * 100:.3f}% without",
        ),
    ]  # fmt: skip


def describe(settings: Settings) -> str:
    return f"`tend daemon --watch` over {FILES} files: edit-to-revert latency and idle CPU"
