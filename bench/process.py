"""Whole-process measurements: a child's wall time and peak RSS (from wait4), contenders timed in rotation.

A figure of a command is the command as an operator runs it: interpreter start-up, imports, the work, exit.
Peak RSS is the child's own `ru_maxrss`, through GNU time's wait4 (the largest of the process and its waited-for
descendants: gpg for tend, cf-promises for cf-agent), so each repetition has its own figure rather than the
high-water mark of RUSAGE_CHILDREN.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Timing

CACHE_ENV = "TEND_BENCH_CACHE"
DEFAULT_CACHE = Path("/var/cache/tend-bench")
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


class ChildFailed(RuntimeError):
    """A measured command exited with a status it should not have: the figure would mean nothing."""


@dataclass(frozen=True, slots=True)
class Sample:
    seconds: float
    rss_kib: int
    returncode: int
    output: str = ""


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800.0,
    expect: Sequence[int] | None = (0,),
    keep_output: bool = False,
) -> Sample:
    """Run `argv` to its end; wall time from before the fork to after the reap, and its peak RSS.

    The peak RSS comes through GNU time (`/usr/bin/time -f %M`), which forks the command from its own small
    process: a process forked from this one and then exec'd would inherit this harness's high-water mark (Linux
    carries ru_maxrss across exec). Without GNU time it is wait4's figure, an upper bound. Output goes to a
    temporary file (never a pipe, which the child could fill), kept for error messages.
    """
    with tempfile.TemporaryDirectory(prefix="tend-bench-run-") as scratch:
        rss_file = Path(scratch) / "rss"
        command = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv] if GNU_TIME else list(argv)
        with open(Path(scratch) / "out", "w+b") as out:
            start = time.perf_counter()
            child = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd
            )
            timer = threading.Timer(timeout, child.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(child.pid, 0)
            finally:
                timer.cancel()
            seconds = time.perf_counter() - start
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            text = out.read().decode(errors="replace")
        rss = usage.ru_maxrss
        if GNU_TIME:
            lines = rss_file.read_text().split() if rss_file.exists() else []
            rss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    if expect is not None and child.returncode not in expect:
        tail = "\n".join(text.splitlines()[-15:])
        raise ChildFailed(f"{' '.join(argv[:4])} ... exited {child.returncode} (expected {list(expect)}):\n{tail}")
    return Sample(seconds, rss, child.returncode, text if keep_output else "")


@dataclass(slots=True)
class Contender:
    """One command measured in a rotation: `setup()` (untimed) puts its world in place, `run()` is timed.

    `run` returns a Sample (usually from run_child); `check(sample)` (untimed) may raise when the work done
    was not the work asked for (a file left unconverged, an unexpected exit status)."""

    name: str
    run: Callable[[], Sample]
    setup: Callable[[], object] | None = None
    check: Callable[[Sample], object] | None = None
    samples: list[Sample] = field(default_factory=list)

    @property
    def timing(self) -> Timing:
        return Timing(tuple(s.seconds for s in self.samples))

    @property
    def rss_kib(self) -> int:
        """The largest peak RSS of the measured repetitions."""
        return max((s.rss_kib for s in self.samples), default=0)


def rotate(contenders: Sequence[Contender], *, repeat: int, warmup: int = 1) -> list[Contender]:
    """Run every contender `warmup + repeat` times, taking turns (the first to go moves each round), so that a
    slower stretch of the machine weighs on all of them alike; keep the last `repeat` samples of each. Every
    timed run starts after os.sync() (untimed)."""
    if repeat < 1 or warmup < 0:
        raise ValueError("repeat must be at least 1 and warmup at least 0")
    for contender in contenders:
        contender.samples.clear()
    count = len(contenders)
    for iteration in range(warmup + repeat):
        for offset in range(count):
            contender = contenders[(iteration + offset) % count]
            if contender.setup is not None:
                contender.setup()
            # No dirty page left by the setup or by the contender before: without it, an agent that fsyncs
            # (tend) would pay, in its fsync, the write-back of the files an agent that does not (cf-agent, the
            # floor) left behind.
            os.sync()
            sample = contender.run()
            if contender.check is not None:
                contender.check(sample)
            if iteration >= warmup:
                contender.samples.append(sample)
    return list(contenders)


def cache_dir(quick: bool, scratch: Path) -> Path:
    """Where generated keys and bytecode persist across runs: $TEND_BENCH_CACHE, /var/cache/tend-bench when it
    can be written, else ~/.cache/tend-bench. Quick mode (the test suite) keeps everything in `scratch`."""
    if quick:
        return scratch / "cache"
    configured = os.environ.get(CACHE_ENV)
    candidates = [Path(configured)] if configured else [DEFAULT_CACHE, Path.home() / ".cache" / "tend-bench"]
    for candidate in candidates:
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    return scratch / "cache"


def child_env(cache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of measured Python children: bytecode cached (under `cache`, not in the checkout), as an
    installed package has it. PYTHONDONTWRITEBYTECODE, which some shells set, would make every start compile
    every module from source, a cost no deployed agent pays."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["PYTHONPYCACHEPREFIX"] = str(cache / "pycache")
    env.update(extra or {})
    return env


def tend_command() -> list[str]:
    """The tend console script of this interpreter's environment (the venv's), as a host runs it."""
    import sys

    script = Path(sys.executable).with_name("tend")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "agent"]


def count_execs(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None) -> dict[str, int] | None:
    """Run `argv` once under `strace -f -e trace=execve` and count the programs successfully executed, by name.

    None when strace is not installed. The run is not timed (strace slows every system call)."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.TemporaryDirectory(prefix="tend-bench-strace-") as scratch:
        log = Path(scratch) / "trace"
        trace = [strace, "-f", "-qq", "-e", "trace=execve", "-o", str(log), *argv]
        run_child(trace, env=env, cwd=cwd, expect=None, timeout=300)
        counts: dict[str, int] = {}
        pending: dict[str, str] = {}  # pid -> program of an execve that strace shows finishing later
        for line in log.read_text(errors="replace").splitlines():
            pid, _, event = line.partition(" ")
            event = event.strip()
            if event.startswith("execve("):
                program = event.split('"')[1]
                if event.endswith("<unfinished ...>"):
                    pending[pid] = program
                    continue
            elif event.startswith("<... execve resumed>") and pid in pending:
                program = pending.pop(pid)
            else:
                continue
            if event.endswith("= 0"):
                name = os.path.basename(program)
                counts[name] = counts.get(name, 0) + 1
    return counts


def megabytes(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"
