"""Runs commands: argv lists (no shell unless the caller asks for one), always a timeout that kills the whole group."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from agent.errors import HostError
from agent.system.accounts import Accounts
from agent.system.paths import Root

# What a command gets when the caller passes no environment: tend's own is never inherited, and a
# fixed locale keeps the output that providers parse stable.
DEFAULT_ENV: Mapping[str, str] = MappingProxyType(
    {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}
)
KILL_GRACE_S = 2.0


class _PopenOptions(typing.TypedDict, total=False):
    """The keyword arguments of subprocess.Popen that run() chooses."""

    cwd: str | None
    preexec_fn: Callable[[], None]
    user: int
    group: int
    extra_groups: list[int]
    stdout: int | typing.IO[bytes]
    stderr: int | typing.IO[bytes]


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command did. Its repr shows argv and returncode only: output may hold secrets."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes = field(repr=False)
    stderr: bytes = field(repr=False)
    duration_s: float = field(repr=False)
    timed_out: bool = field(repr=False, default=False)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def check(self) -> CommandResult:
        """Self when the command succeeded, else HostError with its status and the end of its stderr.

        Do not use it for commands that may echo a secret on stderr.
        """
        if self.ok:
            return self
        raise HostError(self.failure(), subject=shlex.join(self.argv))

    def failure(self) -> str:
        """Why the command failed, in words: "exited with status 100: E: Unable to locate package x"."""
        if self.timed_out:
            status = f"timed out after {self.duration_s:.0f} s"
        elif self.returncode < 0:
            status = f"killed by {signal.Signals(-self.returncode).name}"
        else:
            status = f"exited with status {self.returncode}"
        lines = [ln.strip() for ln in self.stderr.decode(errors="replace").splitlines() if ln.strip()]
        # The first "fatal:"/"E:" line usually says why; the last lines what gave up.
        first = next((ln for ln in lines if ln.lower().startswith(("fatal:", "e:", "error:"))), None)
        shown = ([first] if first and first not in lines[-3:] else []) + lines[-3:]
        tail = "; ".join(shown)[-500:]
        return f"{status}: {tail}" if tail else status


def run(
    argv: Sequence[str],
    *,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float,
    user: str | None = None,
    chroot: Path | None = None,
    daemon: bool = False,
) -> CommandResult:
    """Run `argv` and wait for it, at most `timeout` seconds; a non-zero status is not an error.

    `env` is the complete environment (None: DEFAULT_ENV). `user` (a name or a numeric id) switches
    uid, gid and supplementary groups, looked up inside `chroot` when given. `chroot` runs the
    command inside that directory, with `cwd` taken inside it. Both need root. On timeout the
    command's whole process group gets SIGTERM, then SIGKILL after KILL_GRACE_S.

    `daemon`: the command may leave a process running (a service's start command). Its output then
    goes through temporary files rather than pipes, so a daemon that keeps them open does not hold
    us up: we wait for the command itself, not for the end of its output.
    """
    args = _argv(argv)
    if (user is not None or chroot is not None) and os.geteuid() != 0:
        what = f"switching to user '{user}'" if user is not None else f"running inside {chroot}"
        raise HostError(f"{what} needs root", subject=shlex.join(args))
    credentials = _credentials(user, chroot) if user is not None else None
    options: _PopenOptions = {"cwd": cwd}
    if chroot is not None:
        options = {"preexec_fn": _enter(chroot, cwd, credentials)}
    elif credentials is not None:
        uid, gid, groups = credentials
        options.update({"user": uid, "group": gid, "extra_groups": groups})
    if daemon:
        if input is not None:
            raise ValueError("a daemon's start command takes no input")
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            return _run(args, options | {"stdout": out, "stderr": err}, env, input, timeout, cwd, chroot, (out, err))
    options |= {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return _run(args, options, env, input, timeout, cwd, chroot)


def _run(
    args: tuple[str, ...],
    options: _PopenOptions,
    env: Mapping[str, str] | None,
    input: bytes | None,
    timeout: float,
    cwd: str | None,
    chroot: Path | None,
    files: tuple[typing.IO[bytes], typing.IO[bytes]] | None = None,
) -> CommandResult:
    """Start the command and wait for it: its output through pipes, or through `files` (a daemon's start)."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            env=dict(DEFAULT_ENV if env is None else env),
            start_new_session=True,
            **options,
        )
    except FileNotFoundError as e:
        if cwd is not None and e.filename == cwd:
            raise HostError(f"cannot run in {cwd}: no such directory", subject=shlex.join(args)) from e
        where = f" (inside {chroot})" if chroot is not None else ""
        raise HostError(f"command not found: {args[0]}{where}", subject=args[0]) from e
    except PermissionError as e:
        raise HostError("cannot run: permission denied", subject=args[0]) from e
    except subprocess.SubprocessError as e:
        raise HostError(f"cannot enter {chroot} to run the command", subject=shlex.join(args)) from e
    if files is None:
        stdout, stderr, timed_out = _communicate(proc, input, timeout)
    else:
        timed_out = _wait(proc, timeout)
        stdout, stderr = (_read_back(f) for f in files)
    return CommandResult(args, proc.returncode, stdout, stderr, time.monotonic() - started, timed_out)


def _argv(argv: Sequence[str]) -> tuple[str, ...]:
    if isinstance(argv, str | bytes):
        raise TypeError("argv must be a sequence of arguments, not one string (no shell is used)")
    args = tuple(argv)
    if not args:
        raise ValueError("argv must not be empty")
    return args


def _credentials(user: str, chroot: Path | None) -> tuple[int, int, list[int]]:
    """uid, gid and supplementary gids of `user`, from the passwd and group files of the root it runs in."""
    accounts = Accounts(Root(chroot or Path("/")))
    name = accounts.user_name(int(user)) if user.isdigit() else user
    if name is None:
        raise HostError(f"unknown user id {user} (not in {accounts.root.path / 'etc/passwd'})", subject=user)
    entry = accounts.user(name)
    return entry.uid, entry.gid, accounts.supplementary_gids(name, entry.gid)


def _enter(chroot: Path, cwd: str | None, credentials: tuple[int, int, list[int]] | None) -> Callable[[], None]:
    """A preexec_fn that enters `chroot` then drops to `credentials`.

    It must do both itself: subprocess applies cwd and user= before preexec_fn runs, which would
    take cwd outside the root and leave no privilege to chroot.
    """
    root = os.fspath(chroot)

    def enter() -> None:
        os.chroot(root)
        os.chdir(cwd or "/")
        if credentials is not None:
            uid, gid, groups = credentials
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)

    return enter


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for the command (not for its output); on timeout stop its process group. Whether it timed out."""
    try:
        proc.wait(timeout)
        return False
    except subprocess.TimeoutExpired:
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _killpg(proc.pid, sig)
        try:
            proc.wait(KILL_GRACE_S)
            break
        except subprocess.TimeoutExpired:
            continue
    return True


def _read_back(file: typing.IO[bytes]) -> bytes:
    file.seek(0)
    return file.read()


def _communicate(proc: subprocess.Popen[bytes], input: bytes | None, timeout: float) -> tuple[bytes, bytes, bool]:
    """stdout, stderr and whether it timed out; on timeout the process group is stopped."""
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
        return stdout, stderr, False
    except subprocess.TimeoutExpired:
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _killpg(proc.pid, sig)
        try:
            stdout, stderr = proc.communicate(timeout=KILL_GRACE_S)
            return stdout, stderr, True
        except subprocess.TimeoutExpired:
            continue
    # Something that left the group (setsid) still holds our pipes: stop reading, keep no output.
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    proc.kill()
    proc.wait()
    return b"", b"", True


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
