"""The machine's core facts, named as Facter names them: identity, OS, kernel, hardware, network."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import agent
from agent.errors import FactsError
from agent.facts.lazy import LazyFacts, known
from agent.facts.machine import machine_readers
from agent.facts.networking import read_networking
from agent.facts.os_release import os_facts, parse_os_release
from agent.location import Location

OS_RELEASE = Path("/etc/os-release")
DEBIAN_VERSION = Path("/etc/debian_version")
RESOLV_CONF = Path("/etc/resolv.conf")

# Debian's architecture names for the kernel's machine names; others pass through unchanged.
_ARCHITECTURES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "armhf",
    "i386": "i386",
    "i686": "i386",
    "ppc64le": "ppc64el",
}


def system_facts(
    *,
    os_release: Path = OS_RELEASE,
    debian_version: Path = DEBIAN_VERSION,
    resolv_conf: Path = RESOLV_CONF,
) -> LazyFacts:
    """The machine's facts; every key is always present, None when the host does not tell.

    What a file or uname tells is read at once (a damaged os-release fails here); what psutil, the resolver
    and systemd-detect-virt tell, when first read (agent/facts/lazy.py).
    """
    uname = os.uname()
    resolver = _read_text(resolv_conf)
    identity = functools.cache(lambda: identity_facts(_hostname(), _canonical_name, resolver))
    os_now = os_facts(parse_os_release(_read_text(os_release)), _read_text(debian_version) or None)
    return LazyFacts(
        {
            **{name: _part(identity, name) for name in ("hostname", "fqdn", "domain")},
            **known(
                {
                    "os": os_now,
                    "kernel": uname.sysname,
                    "kernelrelease": uname.release,
                    "architecture": debian_architecture(uname.machine),
                }
            ),
            "processors": lambda: {"count": _processor_count()},
            "memory": lambda: {"total_mb": _memory_total_mb()},
            "networking": read_networking,
            "python": lambda: {"version": _python_version()},
            **known({"tend": {"version": agent.__version__}}),
            **machine_readers(),
        }
    )


def _part(group: Callable[[], dict], name: str) -> Callable[[], object]:
    """What reads fact `name` from a group of facts worked out together (once)."""
    return lambda: group()[name]


def debian_architecture(machine: str) -> str:
    """Return Debian's name for a kernel machine name: x86_64 is amd64, aarch64 is arm64."""
    return _ARCHITECTURES.get(machine, machine)


def identity_facts(hostname: str, canonical_name: Callable[[str], str | None], resolv_conf: str) -> dict:
    """Return `hostname` (short), `fqdn` and `domain` as Facter finds them.

    The domain comes from the host name itself when it has dots, else from the
    resolver's canonical name for it (`canonical_name(short)`, ignored unless it
    names this same host), else from resolv.conf's `domain` or `search` line.
    """
    short, _, domain = hostname.partition(".")
    if not domain:
        canonical = canonical_name(short) or ""
        head, _, tail = canonical.partition(".")
        domain = tail if head == short else ""
    domain = domain or resolv_conf_domain(resolv_conf) or ""
    return {
        "hostname": short,
        "fqdn": f"{short}.{domain}" if domain else short,
        "domain": domain or None,
    }


def resolv_conf_domain(text: str) -> str | None:
    """Return the local domain a resolv.conf(5) text names: the first name of its last `domain` or `search`.

    The two keywords are exclusive and the last instance wins, as the resolver reads them.
    """
    domain = None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("domain", "search"):
            domain = words[1].rstrip(".")
    return domain or None


def _hostname() -> str:
    import socket  # lazily, as psutil (read_networking): a run that reads no identity fact needs no socket

    return socket.gethostname()


def _python_version() -> str:
    import platform  # lazily, as socket

    return platform.python_version()


def _canonical_name(short: str) -> str | None:
    import socket  # lazily, as in _hostname

    try:
        infos = socket.getaddrinfo(short, None, flags=socket.AI_CANONNAME)
    except OSError:  # an unresolvable host name is common and not an error
        return None
    return next((info[3] for info in infos if info[3]), None)


def _read_text(path: Path) -> str:
    """Return a file's text, or "" when it does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise FactsError(f"cannot read: {reason}", location=Location(str(path))) from error


def _processor_count() -> int:
    import psutil  # lazily: see read_networking

    return psutil.cpu_count(logical=True) or os.cpu_count() or 1


def _memory_total_mb() -> int:
    import psutil  # lazily: see read_networking

    return psutil.virtual_memory().total // (1024 * 1024)
