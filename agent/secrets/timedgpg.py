"""gnupg.GPG with what python-gnupg lacks: a timeout that stops gpg's process group, and a fixed environment.

Only agent/secrets/gpg.py imports this module, on first need: it imports python-gnupg, which a run whose
catalog holds no secret never loads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import gnupg

from agent.errors import SecretError

# python-gnupg 0.4.9 logs the first bytes of every decrypted chunk and exported key at DEBUG: whatever
# logging tend configures (--debug included), this logger never goes below WARNING.
logging.getLogger("gnupg").setLevel(logging.WARNING)

KILL_GRACE_S = 2.0
READ_CHUNK = 64 * 1024
NOT_INSTALLED = "gpg is not installed (Debian: apt-get install gnupg)"


class TimedGPG(gnupg.GPG):
    """A gnupg.GPG whose every gpg process is stopped after `timeout` seconds, python-gnupg 0.4.9 to 0.5.x.

    python-gnupg starts each gpg in `_open_subprocess` and waits for it in `_collect_output`, which joins
    its reader threads with no timeout (a gpg-agent that never answers would hold tend forever). Those two
    methods are the ones overridden: each gpg runs in a session of its own, with tend's fixed environment
    (never the caller's); a timer started before the wait sends SIGTERM, then SIGKILL, to its process
    group, so the pipes close, the readers end, and the call raises SecretError. Data still goes to gpg
    on stdin only, as python-gnupg does it.

    `_read_data` (gpg's stdout) is overridden too: while `output_cap` is set (see `capped`), reading stops
    past that many bytes and gpg's process group is stopped, so a small message that inflates to gigabytes
    costs at most the cap in memory.
    """

    output_cap: int | None = None

    def __init__(
        self,
        home: str,
        *,
        timeout: float,
        env: Mapping[str, str],
        binary: str = "gpg",
        options: Sequence[str] = (),
    ):
        # Set before GPG.__init__, which already runs gpg once (its version probe) through the methods below.
        self.timeout = timeout
        self.environment = dict(env)
        super().__init__(gpgbinary=binary, gnupghome=home, options=list(options))

    def _open_subprocess(self, args: list[str], passphrase: bool = False) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                self.make_args(args, passphrase),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.environment,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise SecretError(NOT_INSTALLED) from None
        except OSError as error:
            raise SecretError(f"cannot run {self.gpgbinary}: {error.strerror}") from None

    @contextlib.contextmanager
    def capped(self, limit: int) -> Iterator[None]:
        """gpg's output is read up to `limit` bytes within this block; past it the call raises SecretError."""
        self.output_cap = limit
        try:
            yield
        finally:
            self.output_cap = None

    def _collect_output(
        self, process: subprocess.Popen[bytes], result: Any, writer: Any = None, stdin: Any = None
    ) -> int | None:
        stopped = threading.Event()
        timer = threading.Timer(self.timeout, _stop, (process, stopped))
        timer.daemon = True
        timer.start()
        result.tend_process, result.tend_overflow = process, False
        try:
            returncode: int | None = super()._collect_output(process, result, writer, stdin)  # None from 0.4.9
        finally:
            timer.cancel()
        if result.tend_overflow:
            raise SecretError(f"gpg's output is over the limit of {self.output_cap:,} bytes: stopped unread")
        if stopped.is_set():
            raise SecretError(
                f"gpg did not finish within {self.timeout:g} s (a gpg-agent that never answers?): stopped"
            )
        return returncode

    def _read_data(self, stream: Any, result: Any, *args: Any, **kwargs: Any) -> None:
        """gpg's stdout into `result.data`, stopping gpg past `output_cap` bytes (python-gnupg's own reader
        keeps everything, and logs chunks at DEBUG)."""
        cap = self.output_cap
        chunks: list[bytes] = []
        size = 0
        while data := stream.read(READ_CHUNK):
            size += len(data)
            if cap is not None and size > cap:
                result.tend_overflow = True
                _stop(result.tend_process, threading.Event())
                chunks.clear()
                break
            chunks.append(data)
        result.data = b"".join(chunks)


def _stop(process: subprocess.Popen[bytes], stopped: threading.Event) -> None:
    """SIGTERM, then SIGKILL, to the process group of a gpg that is still running."""
    if process.poll() is not None:
        return
    stopped.set()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(KILL_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue
