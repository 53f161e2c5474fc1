"""Turns an OSError into a HostError that names the path or command and the cause in plain words."""

from __future__ import annotations

import errno
import os

from agent.errors import HostError


def reason(exc: OSError) -> str:
    """The cause in lower case, as `strerror` words it: "no space left on device", "permission denied"."""
    if exc.errno is None:
        return str(exc)
    text = os.strerror(exc.errno)
    return text[:1].lower() + text[1:]


def host_error(action: str, subject: str | os.PathLike[str], exc: OSError) -> HostError:
    """`HostError("cannot <action>: <reason>", subject=...)`; raise it `from exc`."""
    return HostError(f"cannot {action}: {reason(exc)}", subject=os.fspath(subject))


def is_missing(exc: OSError) -> bool:
    """True when `exc` only says that the path (or one of its directories) does not exist."""
    return exc.errno in (errno.ENOENT, errno.ENOTDIR)
