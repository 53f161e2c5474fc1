"""The `package` type: installed, latest, absent, purged or an exact version; a list of names is one transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from agent.errors import HostError
from agent.providers import provider_names
from agent.providers.apt import NO_POLICY
from agent.providers.debversion import compare_versions, is_version
from agent.resources.base import Attr, Change, Resource
from agent.system import System

KEYWORDS = ("installed", "present", "latest", "absent", "purged")
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$")


@dataclass(frozen=True, slots=True)
class Have:
    """A package's current state: `version` when installed, else `absent` (config files left) or `purged`.

    `target` is the version the desired state means where that depends on apt (latest: the candidate).
    """

    version: str | None
    state: str
    target: str | None = None

    def __str__(self) -> str:
        return self.version or self.state


class Package(Resource):
    type_name: ClassVar[str] = "package"
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str, list), secret_ok=False),
        "ensure": Attr((str, int, float), default="installed", secret_ok=False),
        "allow_downgrade": Attr((bool,), default=False),
        "provider": Attr((str,), choices=provider_names("package")),
    }

    @property
    def names(self) -> list[str]:
        name = self.values.get("name")
        return [self.title] if name is None else [name] if isinstance(name, str) else list(name)

    @property
    def ensure(self) -> str:
        ensure = self.values["ensure"]
        return "installed" if ensure == "present" else ensure

    @property
    def identity(self) -> str:
        return f"package:{','.join(sorted(self.names))}"

    def validate(self) -> None:
        ensure = self.values["ensure"]
        if isinstance(ensure, int | float):
            raise self.fail(f'write the version as a quoted string ("{ensure}"): YAML reads it as a number', "ensure")
        if ensure not in KEYWORDS and not is_version(ensure):
            allowed = ", ".join(KEYWORDS)
            raise self.fail(f'ensure must be one of {allowed}, or a version like "1.2-3", not {ensure!r}', "ensure")
        names = self.names
        if not names or not all(isinstance(n, str) and _NAME.match(n) for n in names):
            raise self.fail(f"name must be a package name or a non-empty list of them, not {names!r}", "name")
        if len(set(names)) != len(names):
            raise self.fail("name lists a package twice", "name")

    def _key(self, name: str) -> str:
        """The property a package is reported under: `ensure` for one package, its name in a list."""
        return "ensure" if len(self.names) == 1 else name

    def desired(self) -> dict[str, Any]:
        return {self._key(name): self.ensure for name in self.names}

    def current(self, system: System) -> dict[str, Any]:
        """Each package's state from the run's one read of the dpkg database (and apt's candidate for
        latest). Broken and held packages, and refused downgrades, fail here, so a plan shows them."""
        apt = self.provider()
        known = apt.packages()
        ensure = self.ensure
        have: dict[str, Have] = {}
        for name in self.names:
            package = known.get(name)
            if package is not None and package.broken:
                raise HostError(
                    f"{name} is {package.state} ({package.flag}): dpkg did not finish with it; "
                    "repair it with dpkg --configure -a or apt-get -f install"
                )
            if package is not None and package.installed:
                have[name] = Have(package.version, "installed")
            else:
                have[name] = Have(
                    None, "absent" if package is not None and package.state != "not-installed" else "purged"
                )
        if ensure == "latest":
            policy = apt.policy(self.names, update=False)  # no apt-get update while only looking (noop)
            have = {n: Have(h.version, h.state, (policy.get(n) or NO_POLICY).candidate) for n, h in have.items()}
        for name, state in have.items():
            if self._sync(ensure, state) is not None:
                self._refuse(name, known.get(name), state)
        return {self._key(name): state for name, state in have.items()}

    def changes(self, desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
        changes = []
        for key, want in desired.items():
            have: Have = current[key]
            shown = self._sync(want, have)
            if shown is not None:
                changes.append(Change(key, str(have), shown))
        return changes

    @staticmethod
    def _sync(want: str, have: Have) -> str | None:
        """None when `have` satisfies `want`, else what the change is shown to go to."""
        if want == "absent":
            return None if have.version is None else "absent"
        if want == "purged":
            return None if have.state == "purged" else "purged"
        if have.version is None:
            return have.target or want
        if want == "installed":
            return None
        if want == "latest":
            return None if have.target is None or compare_versions(have.version, have.target) >= 0 else have.target
        return None if compare_versions(have.version, want) == 0 else want

    def _refuse(self, name: str, package: Any, have: Have) -> None:
        """Errors for changes tend will not make: to a held package, or a downgrade not allowed."""
        if package is not None and package.held:
            raise HostError(
                f"{name} is held (apt-mark hold): tend leaves it alone; apt-mark unhold {name} to manage it"
            )
        ensure = self.ensure
        downgrade = ensure not in KEYWORDS and have.version and compare_versions(have.version, ensure) > 0
        if downgrade and not self.values["allow_downgrade"]:
            raise HostError(
                f"installing {name} {ensure} would downgrade it from {have.version}; "
                "set allow_downgrade: true to allow that"
            )

    def fix(self, system: System, changes: list[Change]) -> None:
        apt = self.provider()
        names = [name for name in self.names if self._key(name) in {c.property for c in changes}]
        ensure = self.ensure
        if ensure in ("absent", "purged"):
            apt.remove(names, purge=ensure == "purged")
            return
        version = None if ensure in ("installed", "latest") else ensure
        policy = apt.policy(names, wanted=dict.fromkeys(names, version), update=True)
        for name in names:
            offered = policy.get(name)
            if offered is None or (offered.candidate is None and not offered.versions):
                raise HostError(f"unknown package {name}: no apt source offers it (after apt-get update)")
            if version is not None and version not in offered.versions:
                available = ", ".join(offered.versions) or "none"
                raise HostError(f"{name} {version} is not available (apt offers: {available})")
        specs = [name if version is None else f"{name}={version}" for name in names]
        apt.install(specs, allow_downgrade=bool(self.values["allow_downgrade"]))
