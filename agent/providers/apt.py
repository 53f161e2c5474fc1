"""The `apt` package provider: reads the dpkg database once per run, changes packages with apt-get, non-interactively.

Under `--root DIR` the database is DIR/var/lib/dpkg/status and apt runs with `-o Dir=DIR` (the root's
own sources, lists and cache) and dpkg with `--root=DIR` (maintainer scripts chrooted into DIR).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.errors import ConfigError, HostError
from agent.providers.options import Note, ProviderOptions
from agent.providers.packages import PackageState
from agent.system import CommandResult, Host
from agent.system.commands import DEFAULT_ENV

STATUS_FILE = "/var/lib/dpkg/status"
LOCK_TIMEOUT_S = 300
APT_TIMEOUT_S = 3600.0
ENV = {**DEFAULT_ENV, "DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
# Keep the conffiles an admin changed; take the package's own where nobody did.
CONFFILE_OPTIONS = ("-o", "Dpkg::Options::=--force-confold", "-o", "Dpkg::Options::=--force-confdef")
INSTALLED_STATES = frozenset(["installed", "triggers-pending", "triggers-awaited"])
BROKEN_STATES = frozenset(["half-installed", "unpacked", "half-configured"])
# What apt and dpkg need to start a database in an empty root.
ROOT_FOLDERS = ("/var/lib/dpkg/updates", "/var/lib/dpkg/info", "/var/log/apt", "/etc/apt/preferences.d",
                "/etc/apt/apt.conf.d", "/var/lib/apt/lists/partial", "/var/cache/apt/archives/partial")  # fmt: skip
_LOCKED = ("Could not get lock", "dpkg frontend lock", "Unable to acquire the dpkg")
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


def configured_options(
    settings: Mapping[str, Any], environ: Mapping[str, str], where: str = "agent.yaml"
) -> tuple[str, ...]:
    """Extra apt arguments: agent.yaml's `apt: {options: [...]}`, then TEND_APT_OPTIONS (split as a shell would).

    Later options win in apt, so the environment overrides the file.
    """
    unknown = sorted(set(settings) - {"options"})
    if unknown:
        raise ConfigError(f"apt: unknown key '{unknown[0]}' (known: options)", subject=where)
    options = settings.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ConfigError("apt: options must be a list of strings (apt-get arguments, like -o Dir::Cache=…)")
    try:
        extra = shlex.split(environ.get("TEND_APT_OPTIONS", ""))
    except ValueError as error:
        raise ConfigError(f"TEND_APT_OPTIONS: {error}") from None
    return (*options, *extra)


class Apt:
    """Packages through dpkg's database (read once per run, again after tend changes it) and apt-get."""

    name = "apt"

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        missing = [tool for tool in ("apt-get", "apt-cache", "dpkg") if not system.has_command(tool)]
        return f"{', '.join(missing)} not found (not a Debian-like system)" if missing else None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system
        self.extra = tuple(options.apt_options)
        self._packages: dict[str, DpkgPackage] | None = None
        self._updated = False
        self.reads = 0  # how often the status file was read this run (the benchmark counts them)

    def packages(self) -> Mapping[str, DpkgPackage]:
        """Every package dpkg knows, from one read of its status file."""
        if self._packages is None:
            path = self.system.resolve(STATUS_FILE, follow=True)
            try:
                text = self.system.read_bytes(path).decode(errors="replace")
            except HostError:
                if self.system.read_state(path) is not None:
                    raise
                text = ""  # an empty root: dpkg creates its database on the first install
            self._packages = parse_dpkg_status(text)
            self.reads += 1
        return self._packages

    def states(self, names: Sequence[str], *, candidates: bool) -> dict[str, PackageState]:
        """Each package's state from the run's one read of the dpkg database; with `candidates`, apt's
        candidate too (no apt-get update while only looking). A package dpkg did not finish fails here,
        so a plan shows it."""
        known = self.packages()
        found: dict[str, PackageState] = {}
        for name in names:
            package = known.get(name)
            if package is not None and package.broken:
                raise HostError(
                    f"{name} is {package.state} ({package.flag}): dpkg did not finish with it; "
                    "repair it with dpkg --configure -a or apt-get -f install"
                )
            held = package is not None and package.held
            if package is not None and package.installed:
                found[name] = PackageState(package.version, "installed", held)
            else:
                gone = "absent" if package is not None and package.state != "not-installed" else "purged"
                found[name] = PackageState(None, gone, held)
        if candidates:
            policy = self.policy(names, update=False)
            found = {
                n: PackageState(s.version, s.state, s.held, (policy.get(n) or NO_POLICY).candidate)
                for n, s in found.items()
            }
        return found

    def policy(
        self, names: Iterable[str], *, wanted: Mapping[str, str | None] | None = None, update: bool
    ) -> dict[str, Policy]:
        """apt's view of `names`. With `update`, when one is unknown (or a `wanted` version is not offered),
        `apt-get update` runs (once per run at most) and the question is asked again."""
        names = list(names)
        found = self._policy(names)
        if update and not self._updated and _missing(names, found, wanted or {}):
            self.update()
            found = self._policy(names)
        return found

    def update(self) -> None:
        self._updated = True
        result = self._apt("apt-get", "update")
        if not result.ok:
            raise HostError(f"apt-get update failed: {_failure(result, self.lock_timeout())}")

    def install(self, names: Sequence[str], version: str | None, *, allow_downgrade: bool = False) -> None:
        """One apt-get transaction for every package (at `version` when given), once apt offers them all."""
        policy = self.policy(names, wanted=dict.fromkeys(names, version), update=True)
        for name in names:
            offered = policy.get(name)
            if offered is None or (offered.candidate is None and not offered.versions):
                raise HostError(f"unknown package {name}: no apt source offers it (after apt-get update)")
            if version is not None and version not in offered.versions:
                available = ", ".join(offered.versions) or "none"
                raise HostError(f"{name} {version} is not available (apt offers: {available})")
        self._prepare_root()
        specs = [name if version is None else f"{name}={version}" for name in names]
        extra = ("--allow-downgrades",) if allow_downgrade else ()
        self._change("install", *extra, "--", *specs)

    def remove(self, names: Sequence[str], *, purge: bool) -> None:
        self._prepare_root()
        self._change("purge" if purge else "remove", "--", *names)

    def _change(self, *args: str) -> None:
        try:
            result = self._apt("apt-get", *args)
        finally:
            self._packages = None  # whatever happened, read the database again
        if not result.ok:
            raise HostError(f"apt-get {args[0]} failed: {_failure(result, self.lock_timeout())}")

    def _policy(self, names: list[str]) -> dict[str, Policy]:
        result = self._apt("apt-cache", "policy", "--", *names)
        if not result.ok:
            raise HostError(f"apt-cache policy failed: {_failure(result, self.lock_timeout())}")
        return parse_policy(result.stdout.decode(errors="replace"))

    def lock_timeout(self) -> str:
        """The lock wait in effect: the last DPkg::Lock::Timeout given (configured options come after ours)."""
        waited = str(LOCK_TIMEOUT_S)
        for option in self.extra:
            name, _, value = option.partition("=")
            if name.strip().lower() == "dpkg::lock::timeout":
                waited = value.strip()
        return waited

    def _apt(self, tool: str, *args: str) -> CommandResult:
        options = ["-q", *(["-y"] if tool == "apt-get" else []), "-o", f"DPkg::Lock::Timeout={LOCK_TIMEOUT_S}"]
        options += CONFFILE_OPTIONS
        if not self.system.root.is_host:
            root = str(self.system.root.path)
            options += ["-o", f"Dir={root}", "-o", f"DPkg::Options::=--root={root}"]
        return self.system.run([tool, *options, *self.extra, *args], env=ENV, timeout=APT_TIMEOUT_S)

    def _prepare_root(self) -> None:
        """An empty root gets the folders apt and dpkg need to start a database there."""
        if self.system.root.is_host:
            return
        for folder in ROOT_FOLDERS:
            parts = folder.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                path = self.system.resolve("/" + "/".join(parts[:depth]))
                if self.system.read_state(path) is None:
                    self.system.ensure_directory(path, 0o755)
        status = self.system.resolve(STATUS_FILE)
        if self.system.read_state(status) is None:
            self.system.write_atomic(status, b"", mode=0o644)


def _missing(names: Sequence[str], found: Mapping[str, Policy], wanted: Mapping[str, str | None]) -> bool:
    for name in names:
        policy = found.get(name)
        if policy is None or (policy.candidate is None and not policy.versions):
            return True
        version = wanted.get(name)
        if version is not None and version not in policy.versions:
            return True
    return False


def _failure(result: CommandResult, waited: str) -> str:
    text = result.stderr.decode(errors="replace")
    if any(marker in text for marker in _LOCKED):
        return f"the dpkg database is locked by another process (waited {waited} s); the next run tries again"
    errors = [line[3:] for line in text.splitlines() if line.startswith("E: ")]
    return "; ".join(errors[-3:]) if errors else result.failure()
