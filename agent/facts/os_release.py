"""The `os` facts, parsed from the text of /etc/os-release (and Debian's /etc/debian_version)."""

from __future__ import annotations

import re

# Facter's names for the distributions it knows, by os-release ID.
_NAMES = {
    "almalinux": "AlmaLinux",
    "alpine": "Alpine",
    "amzn": "Amazon",
    "arch": "Archlinux",
    "centos": "CentOS",
    "debian": "Debian",
    "devuan": "Devuan",
    "fedora": "Fedora",
    "gentoo": "Gentoo",
    "kali": "Kali",
    "linuxmint": "LinuxMint",
    "ol": "OracleLinux",
    "opensuse-leap": "OpenSuSE",
    "raspbian": "Raspbian",
    "rhel": "RedHat",
    "rocky": "Rocky",
    "sles": "SLES",
    "ubuntu": "Ubuntu",
}

# Facter's family for an os-release ID or one of the IDs in ID_LIKE.
_FAMILIES = {
    "debian": "Debian",
    "ubuntu": "Debian",
    "rhel": "RedHat",
    "centos": "RedHat",
    "fedora": "RedHat",
    "suse": "Suse",
    "opensuse": "Suse",
    "sles": "Suse",
    "alpine": "Alpine",
    "arch": "Archlinux",
    "gentoo": "Gentoo",
}

_KEY = re.compile(r"[A-Z_][A-Z0-9_]*")
# Inside double quotes, a backslash escapes these characters (os-release(5)).
_ESCAPE = re.compile(r'\\([$"\\`])')


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5) text into its variables, with shell quoting and escapes undone.

    Comments, blank lines and lines that are not `KEY=value` are skipped, as the
    specification asks of readers.
    """
    variables: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.strip().partition("=")
        if not sep or not _KEY.fullmatch(key):
            continue
        value = _unquote(raw)
        if value is not None:
            variables[key] = value
    return variables


def _unquote(raw: str) -> str | None:
    """Undo the shell quoting os-release allows; None for an unbalanced quote."""
    value = raw.strip()
    if not value or value[0] not in "\"'":
        return value
    quote = value[0]
    if len(value) < 2 or value[-1] != quote:
        return None
    body = value[1:-1]
    return _ESCAPE.sub(r"\1", body) if quote == '"' else body


def os_facts(release: dict[str, str], debian_version: str | None = None) -> dict:
    """Return the `os` facts for parsed os-release variables.

    `debian_version` is the text of /etc/debian_version, which holds Debian's point
    release ("12.5") that os-release leaves out.
    """
    ident = release.get("ID", "").lower()
    name = _NAMES.get(ident) or ident.capitalize() or None
    return {
        "family": _family(ident, release.get("ID_LIKE", "")) or name,
        "name": name,
        "release": _release(ident, release.get("VERSION_ID"), debian_version),
        "codename": release.get("VERSION_CODENAME") or release.get("UBUNTU_CODENAME") or None,
    }


def _family(ident: str, id_like: str) -> str | None:
    for candidate in [ident, *id_like.lower().split()]:
        if candidate in _FAMILIES:
            return _FAMILIES[candidate]
    return None


def _release(ident: str, version_id: str | None, debian_version: str | None) -> dict:
    if not version_id:
        return {"full": None, "major": None, "minor": None}
    full = version_id
    if ident == "debian" and debian_version:
        point = debian_version.strip()
        if point.startswith(f"{version_id}."):
            full = point
    # As in Facter, an Ubuntu release's major version is its year and month.
    parts = 2 if ident == "ubuntu" else 1
    numbers = full.split(".")
    return {"full": full, "major": ".".join(numbers[:parts]), "minor": numbers[parts] if len(numbers) > parts else None}
