"""What dpkg and apt print, read: the dpkg status database, `apt-cache policy`, and why an apt command failed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.system import CommandResult

INSTALLED_STATES = frozenset(["installed", "triggers-pending", "triggers-awaited"])
BROKEN_STATES = frozenset(["half-installed", "unpacked", "half-configured"])
_LOCKED = ("Could not get lock", "dpkg frontend lock", "Unable to acquire the dpkg")
# apt's lines about its own progress: what follows the last of them is dpkg's and the scripts' own.
_PROGRESS = ("Setting up ", "Unpacking ", "Preparing to unpack ", "Removing ", "Purging configuration files ")
OUTPUT_LINES = 6
_POLICY_VERSION = re.compile(r"^ (?:\*\*\*|   ) (\S+) -?\d+$")


@dataclass(frozen=True, slots=True)
class DpkgPackage:
    """One package as the dpkg status database records it."""

    name: str
    version: str
    want: str  # install, hold, deinstall, purge, unknown
    flag: str  # ok, reinstreq
    state: str  # installed, config-files, not-installed, half-configured, …
    architecture: str = ""

    @property
    def installed(self) -> bool:
        return self.state in INSTALLED_STATES

    @property
    def broken(self) -> bool:
        return self.state in BROKEN_STATES or self.flag == "reinstreq"

    @property
    def held(self) -> bool:
        return self.want == "hold"


@dataclass(frozen=True, slots=True)
class Policy:
    """What `apt-cache policy` says of a package: the version apt would install and every version it knows."""

    candidate: str | None
    versions: tuple[str, ...]


NO_POLICY = Policy(None, ())


def parse_dpkg_status(text: str) -> dict[str, DpkgPackage]:
    """The packages of a dpkg status file by name; a package of a foreign architecture also as `name:arch`.

    Where one name has entries for several architectures, the bare name is the installed one.
    """
    packages: dict[str, DpkgPackage] = {}
    for stanza in text.split("\n\n"):
        stanza = "\n" + stanza
        name, status = _field(stanza, "Package"), _field(stanza, "Status").split()
        if not name or len(status) != 3:
            continue
        arch = _field(stanza, "Architecture")
        package = DpkgPackage(name, _field(stanza, "Version"), status[0], status[1], status[2], arch)
        if arch:
            packages[f"{name}:{arch}"] = package
        known = packages.get(name)
        if known is None or (package.installed and not known.installed):
            packages[name] = package
    return packages


def _field(stanza: str, key: str) -> str:
    """The value of field `key` in a stanza that starts with a newline ('' when absent); a continuation
    line starts with a space, so it never matches."""
    start = stanza.find(f"\n{key}: ")
    if start < 0:
        return ""
    start += len(key) + 3
    end = stanza.find("\n", start)
    return stanza[start : end if end >= 0 else len(stanza)].strip()


def parse_policy(text: str) -> dict[str, Policy]:
    """`apt-cache policy A B …` output by package name; a package apt does not know is left out."""
    found: dict[str, Policy] = {}
    name: str | None = None
    candidate: str | None = None
    versions: list[str] = []
    for line in [*text.splitlines(), ""]:
        if not line or (not line[0].isspace() and line.endswith(":")):
            if name is not None:
                found[name] = Policy(candidate, tuple(versions))
            name, candidate, versions = (line[:-1] if line else None), None, []
        elif line.strip().startswith("Candidate:"):
            value = line.split(":", 1)[1].strip()
            candidate = None if value == "(none)" else value
        elif match := _POLICY_VERSION.match(line):
            versions.append(match.group(1))
    return found


def is_locked(result: CommandResult) -> bool:
    """Whether apt or dpkg failed because another process holds the dpkg lock."""
    return any(marker in line for line in result.stderr.decode(errors="replace").splitlines() for marker in _LOCKED)


def failure(result: CommandResult, waited: str) -> str:
    """Why an apt command failed, in apt's and dpkg's own words: its E: lines, its W: lines (a key
    apt lacks is a `NO_PUBKEY` warning there), and the last lines dpkg and the maintainer scripts
    wrote; or that the dpkg lock stayed taken for `waited` seconds."""
    stderr = result.stderr.decode(errors="replace").splitlines()
    if is_locked(result):
        return f"the dpkg database is locked by another process (waited {waited} s); the next run tries again"
    said = [line[3:] for line in stderr if line.startswith("E: ")][-3:]
    said += [line for line in stderr if line.startswith("W: ")][-3:]
    output = script_output(result.stdout.decode(errors="replace").splitlines())
    output += [line.strip() for line in stderr if line.strip() and line[:3] not in ("E: ", "W: ", "N: ")]
    parts = ["; ".join(said) if said else result.failure()]
    if output:
        parts.append("dpkg said: " + " | ".join(output[-OUTPUT_LINES:]))
    return "; ".join(parts)


def script_output(stdout: list[str]) -> list[str]:
    """What dpkg and the maintainer scripts wrote after apt's last line about its own progress."""
    start = max((i + 1 for i, line in enumerate(stdout) if line.startswith(_PROGRESS)), default=len(stdout))
    return [line.strip() for line in stdout[start:] if line.strip()]
