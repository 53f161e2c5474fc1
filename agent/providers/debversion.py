"""Debian version strings: validity and ordering exactly as dpkg compares them (epoch, upstream, revision, `~`)."""

from __future__ import annotations

import re

_VALID = re.compile(r"^(?:\d+:)?[0-9][A-Za-z0-9.+~:-]*$")


def is_version(text: str) -> bool:
    """Whether `text` can be a Debian version (`1.0`, `2:1.2.3-1~deb12u1`)."""
    return bool(_VALID.match(text))


def compare_versions(a: str, b: str) -> int:
    """<0, 0 or >0 as version `a` sorts before, equal to or after `b` (dpkg --compare-versions)."""
    epoch_a, upstream_a, revision_a = _split(a)
    epoch_b, upstream_b, revision_b = _split(b)
    if epoch_a != epoch_b:
        return epoch_a - epoch_b
    return _compare_part(upstream_a, upstream_b) or _compare_part(revision_a, revision_b)


def _split(version: str) -> tuple[int, str, str]:
    epoch, _, rest = version.partition(":") if ":" in version else ("0", "", version)
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, "0"  # no revision is the same as revision 0
    return int(epoch or 0), upstream, revision


def _order(char: str) -> int:
    """dpkg's order of a non-digit: `~` first, the end of the string next, letters, then everything else."""
    if char == "":
        return 0
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    return ord(char) if char.isalpha() else ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternate runs of non-digits (compared by _order) and numbers (compared as numbers)."""
    i = j = 0

    def at(text: str, k: int) -> str:
        return text[k] if k < len(text) else ""

    while i < len(a) or j < len(b):
        while (at(a, i) and not at(a, i).isdigit()) or (at(b, j) and not at(b, j).isdigit()):
            diff = _order(at(a, i)) - _order(at(b, j))
            if diff:
                return diff
            i, j = i + 1, j + 1
        while at(a, i) == "0":
            i += 1
        while at(b, j) == "0":
            j += 1
        first_diff = 0
        while at(a, i).isdigit() and at(b, j).isdigit():
            first_diff = first_diff or ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if at(a, i).isdigit():
            return 1
        if at(b, j).isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0
