"""The `networking` facts: each interface's addresses and the host's main IPv4 address."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

# An address as the reader hands it over: its kind ("ip", "ip6" or "mac") and its text.
Address = tuple[str, str]

_NO_MAC = "00:00:00:00:00:00"


def networking_facts(addresses: Mapping[str, Sequence[Address]], up: set[str]) -> dict:
    """Return the `networking` facts from each interface's addresses, in the kernel's order.

    `ip` is the first IPv4 address that is not a loopback one on an interface that is up.
    """
    return {
        "interfaces": {name: interface_facts(addresses[name]) for name in sorted(addresses)},
        "ip": _main_ip(addresses, up),
    }


def interface_facts(addresses: Sequence[Address]) -> dict:
    """Return one interface's `ip`, `ip6` (a global address if it has one) and `mac`, None when absent."""
    ips = [text for kind, text in addresses if kind == "ip"]
    ip6s = [text.split("%", 1)[0] for kind, text in addresses if kind == "ip6"]
    macs = [text.lower() for kind, text in addresses if kind == "mac" and text != _NO_MAC]
    global_ip6s = [text for text in ip6s if not ipaddress.IPv6Address(text).is_link_local]
    return {
        "ip": next(iter(ips), None),
        "ip6": next(iter(global_ip6s or ip6s), None),
        "mac": next(iter(macs), None),
    }


def _main_ip(addresses: Mapping[str, Sequence[Address]], up: set[str]) -> str | None:
    for name, entries in addresses.items():
        if name not in up:
            continue
        for kind, text in entries:
            if kind == "ip" and not ipaddress.IPv4Address(text).is_loopback:
                return text
    return None


def read_networking() -> dict:
    """Read the host's interfaces through psutil and return the `networking` facts."""
    import socket

    import psutil  # lazily: importing it costs start-up time that `tend --version` must not pay

    kinds = {socket.AF_INET: "ip", socket.AF_INET6: "ip6", psutil.AF_LINK: "mac"}
    addresses = {
        name: [(kinds[entry.family], entry.address) for entry in entries if entry.family in kinds]
        for name, entries in psutil.net_if_addrs().items()
    }
    up = {name for name, stats in psutil.net_if_stats().items() if stats.isup}
    return networking_facts(addresses, up)
