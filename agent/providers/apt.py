"""The `apt` provider: packages through dpkg's database (read once per run) and apt-get, non-interactively;
apt sources (agent/providers/apt_sources.py); holds with apt-mark; debconf answers before installs.

Under `--root DIR` the database is DIR/var/lib/dpkg/status and apt runs with `-o Dir=DIR` (the root's
own sources, lists and cache) and dpkg with `--root=DIR` (maintainer scripts chrooted into DIR).

apt's package lists are refreshed (`apt-get update`, at most once per run, never in noop) when an
apt_source changed, before `latest` looks for a candidate when tend's last successful update is
older than `lists_max_age`, and before an install that apt's lists do not offer. That time is
tend's own record (`apt-lists.json` in the state directory): apt keeps no time of its last
update, and the files in its lists carry the repository's dates, not apt's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.errors import HostError
from agent.providers import apt_sources
from agent.providers.apt_output import (
    NO_POLICY,
    DpkgPackage,
    Policy,
    failure,
    is_locked,
    parse_dpkg_status,
    parse_policy,
)
from agent.providers.apt_sources import SourceFiles
from agent.providers.debconf import Answer, preseed
from agent.providers.options import Note, ProviderOptions, configured_options
from agent.providers.packages import PackageState
from agent.system import CommandResult, Host, files
from agent.system.commands import DEFAULT_ENV

__all__ = ["Apt", "DpkgPackage", "Policy", "configured_options", "parse_dpkg_status", "parse_policy"]

STATUS_FILE = "/var/lib/dpkg/status"
LOCK_TIMEOUT_S = 300
LOCK_POLL_S = 0.25
APT_TIMEOUT_S = 3600.0
ENV = {**DEFAULT_ENV, "DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
# Keep the conffiles an admin changed; take the package's own where nobody did.
CONFFILE_OPTIONS = ("-o", "Dpkg::Options::=--force-confold", "-o", "Dpkg::Options::=--force-confdef")
# What apt and dpkg need to start a database in an empty root.
ROOT_FOLDERS = ("/var/lib/dpkg/updates", "/var/lib/dpkg/info", "/var/log/apt", "/etc/apt/preferences.d",
                "/etc/apt/apt.conf.d", "/var/lib/apt/lists/partial", "/var/cache/apt/archives/partial")  # fmt: skip
STAMP_FILE = "apt-lists.json"


class Apt:
    """Packages and apt sources; one instance per run, so the dpkg database is read once and the lists
    updated at most once."""

    name = "apt"

    @classmethod
    def unsuitable(cls, system: Host, values: Mapping[str, Any]) -> str | None:
        missing = [tool for tool in ("apt-get", "apt-cache", "dpkg") if not system.has_command(tool)]
        return f"{', '.join(missing)} not found (not a Debian-like system)" if missing else None

    def __init__(self, system: Host, options: ProviderOptions, note: Note):
        self.system = system
        self.options = options
        self.extra = tuple(options.apt_options)
        self._packages: dict[str, DpkgPackage] | None = None
        self._updated = False  # an apt-get update succeeded this run
        self._stale = False  # a source was written since
        self._pending = False  # a source differs from its manifest and was not written (noop)
        self._policies: dict[str, Policy] = {}  # apt-cache policy answers since the lists last changed
        self.reads = 0  # how often the status file was read this run (the benchmark counts them)

    # --- sources -------------------------------------------------------------------------------------

    def source(self, name: str, wanted: SourceFiles | None) -> SourceFiles:
        """The source's files as they are. When they differ from `wanted` (None: absent) the lists
        cannot be trusted until the source is written and apt-get update has run."""
        have = apt_sources.read(self.system, name)
        if have != (wanted or SourceFiles(None, None)):
            self._pending = True
        return have

    def write_source(self, name: str, files: SourceFiles) -> None:
        self._lists_changed()
        apt_sources.write(self.system, name, files)

    def remove_source(self, name: str) -> None:
        self._lists_changed()
        apt_sources.remove(self.system, name)

    # --- packages ------------------------------------------------------------------------------------

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
        candidate too, from lists refreshed first when stale (not in noop). A package dpkg did not
        finish fails here, so a plan shows it."""
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
            if not self.options.noop and not self.lists_fresh():
                self.update()
            policy = self.policy(names, update=False)
            found = {
                n: PackageState(s.version, s.state, s.held, (policy.get(n) or NO_POLICY).candidate)
                for n, s in found.items()
            }
        return found

    def unlisted(self, names: Sequence[str], version: str | None) -> list[str]:
        """The packages apt's lists do not offer (at `version` when given). When the lists are fresh and no
        source changes, that is an error, so a plan shows it. Otherwise a plan (noop, which asks only
        read-only questions) gets them back, and an apply refreshes the lists first and asks again."""
        found = self._policy(list(names))
        missing = [name for name in names if _missing([name], found, {name: version})]
        if missing and not self.options.noop and not self.lists_fresh():
            self.update()
            found = self._policy(list(names))
            missing = [name for name in names if _missing([name], found, {name: version})]
        if missing and self.lists_fresh():
            raise HostError(_unknown(missing[0], version, found.get(missing[0]), self._freshness()))
        return missing

    def install(
        self,
        names: Sequence[str],
        version: str | None,
        *,
        allow_downgrade: bool = False,
        recommends: bool | None = None,
        answers: Sequence[Answer] = (),
    ) -> None:
        """One apt-get transaction for every package (at `version` when given), once apt offers them all;
        debconf answers first; a held package is unheld for it and held again after. The lists are
        refreshed first when a source changed, else only when apt does not offer a package."""
        if self._stale or self._pending:
            self.update()
        policy = self.policy(names, wanted=dict.fromkeys(names, version), update=True)
        for name in names:
            if _missing([name], policy, {name: version}):
                raise HostError(_unknown(name, version, policy.get(name), "after apt-get update"))
        self._prepare_root()
        preseed(self.system, list(answers))
        specs = [name if version is None else f"{name}={version}" for name in names]
        extra = ["--allow-downgrades"] if allow_downgrade else []
        if recommends is not None:
            extra += ["-o", f"APT::Install-Recommends={str(recommends).lower()}"]
        held = [name for name in names if (p := self.packages().get(name)) is not None and p.held]
        self.set_hold(held, False)
        try:
            self._change("install", *extra, "--", *specs)
        finally:
            self.set_hold(held, True)

    def remove(self, names: Sequence[str], *, purge: bool) -> None:
        self._prepare_root()
        self.set_hold([name for name in names if (p := self.packages().get(name)) is not None and p.held], False)
        self._change("purge" if purge else "remove", "--", *names)

    def set_hold(self, names: Sequence[str], hold: bool) -> None:
        """`apt-mark hold` or `unhold` the packages (nothing to do for none)."""
        if not names:
            return
        try:
            result = self._apt_mark("hold" if hold else "unhold", "--", *names)
        finally:
            self._packages = None
        if not result.ok:
            raise HostError(f"apt-mark {'hold' if hold else 'unhold'} failed: {failure(result, self.lock_timeout())}")

    # --- lists ---------------------------------------------------------------------------------------

    def lists_fresh(self) -> bool:
        """Whether apt's lists can be trusted: no source changed, and updated this run or within lists_max_age."""
        if self._stale or self._pending:
            return False
        if self._updated:
            return True
        age = self._lists_age()
        return age is not None and age <= self.options.apt_lists_max_age_s

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
        self._policies.clear()
        self._prepare_root()
        result = self._apt("apt-get", "update")
        if not result.ok:
            raise HostError(f"apt-get update failed: {failure(result, self.lock_timeout())}")
        self._stale = self._pending = False
        self._record_update(self.options.clock())

    def _lists_changed(self) -> None:
        """A source changes: the lists are stale, here and for later runs, until an update succeeds."""
        self._stale = True
        self._record_update(None)

    def _freshness(self) -> str:
        if self._updated:
            return "after apt-get update"
        age = self._lists_age() or 0
        return f"the package lists are {age / 60:.0f} min old, within apt.lists_max_age"

    def _stamp(self) -> tuple[Path | None, str]:
        """The state file that records the last update, and this root's and options' key in it."""
        folder = self.options.state_dir
        return (folder / STAMP_FILE if folder else None), " ".join([str(self.system.root.path), *self.extra])

    def _stamps(self, path: Path) -> dict[str, float]:
        # tend's own record lives in the state directory, outside any --root: not a host path.
        if files.read_state(path) is None:
            return {}
        try:
            data = json.loads(files.read_bytes(path))
        except ValueError:
            return {}  # a damaged record costs one update, never the run
        return data if isinstance(data, dict) else {}

    def _lists_age(self) -> float | None:
        path, key = self._stamp()
        when = self._stamps(path).get(key) if path else None
        return self.options.clock() - when if isinstance(when, int | float) else None

    def _record_update(self, when: float | None) -> None:
        path, key = self._stamp()
        if path is None or self.options.noop or files.read_state(path.parent) is None:
            return
        stamps = self._stamps(path)
        if when is None:
            stamps.pop(key, None)
        else:
            stamps[key] = when
        files.write_atomic(path, json.dumps(stamps, sort_keys=True).encode(), mode=0o600)

    # --- commands ------------------------------------------------------------------------------------

    def _change(self, *args: str) -> None:
        try:
            result = self._apt("apt-get", *args)
        finally:
            self._packages = None  # whatever happened, read the database again
        if not result.ok:
            raise HostError(f"apt-get {args[0]} failed: {failure(result, self.lock_timeout())}")

    def _policy(self, names: list[str]) -> dict[str, Policy]:
        """apt-cache policy of the names not asked about since the lists last changed."""
        asking = [name for name in names if name not in self._policies]
        if asking:
            result = self._apt("apt-cache", "policy", "--", *asking)
            if not result.ok:
                raise HostError(f"apt-cache policy failed: {failure(result, self.lock_timeout())}")
            found = parse_policy(result.stdout.decode(errors="replace"))
            self._policies.update({name: found.get(name, NO_POLICY) for name in asking})
        return {name: self._policies[name] for name in names}

    def _apt_mark(self, *args: str) -> CommandResult:
        """apt-mark, waiting for the dpkg lock as apt-get does: apt-mark runs dpkg --set-selections,
        which fails at once while another process holds the lock, whatever DPkg::Lock::Timeout says."""
        try:
            wait = float(self.lock_timeout())
        except ValueError:
            wait = LOCK_TIMEOUT_S
        deadline = time.monotonic() + wait
        while True:
            result = self._apt("apt-mark", *args)
            if result.ok or not is_locked(result) or time.monotonic() >= deadline or self.options.stop():
                return result
            time.sleep(LOCK_POLL_S)

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


def _unknown(name: str, version: str | None, offered: Policy | None, why: str) -> str:
    """The error for a package (or version) apt does not offer; `why` says how recent apt's lists are."""
    if offered is None or (offered.candidate is None and not offered.versions):
        return f"unknown package {name}: no apt source offers it ({why})"
    return f"{name} {version} is not available (apt offers: {', '.join(offered.versions) or 'none'}; {why})"
