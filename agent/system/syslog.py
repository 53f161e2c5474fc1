"""Lines to syslog/journald, when the machine has one (/dev/log), so existing log shipping collects them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

DEV_LOG = Path("/dev/log")


def send(ident: str, lines: Iterable[str], *, audit: bool = False) -> None:
    """One syslog message per line; `audit` lines go to authpriv, the others to daemon. Never raises."""
    lines = [line for line in lines if line]
    if not lines or not DEV_LOG.exists():
        return
    import syslog

    try:
        syslog.openlog(ident, syslog.LOG_PID, syslog.LOG_AUTHPRIV if audit else syslog.LOG_DAEMON)
        for line in lines:
            syslog.syslog(syslog.LOG_INFO, line)
    except OSError:
        pass
    finally:
        syslog.closelog()
