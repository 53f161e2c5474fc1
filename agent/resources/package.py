"""The `package` type: installed, latest, absent, purged or an exact version; a list of names is one transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from agent.errors import HostError
from agent.providers import provider_names
from agent.providers.debversion import compare_versions, is_version
from agent.providers.packages import PackageState
from agent.resources.base import Attr, Change, Resource
from agent.system import Host

KEYWORDS = ("installed", "present", "latest", "absent", "purged")
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$")


class PackageProvider(Protocol):
    """What the package type asks of its provider (agent/providers/apt.py)."""

    def states(self, names: Sequence[str], *, candidates: bool) -> dict[str, PackageState]:
        """Each package's state; with `candidates`, the version an upgrade would install too."""
        ...

    def install(self, names: Sequence[str], version: str | None, *, allow_downgrade: bool) -> None:
        """Install or upgrade every package (to `version` when given) in one transaction."""
        ...

    def remove(self, names: Sequence[str], *, purge: bool) -> None: ...


class Package(Resource[PackageProvider]):
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

    def current(self, system: Host, provider: PackageProvider) -> dict[str, Any]:
        """Each package's state; held packages and refused downgrades fail here, so a plan shows them."""
        ensure = self.ensure
        have = provider.states(self.names, candidates=ensure == "latest")
        for name, state in have.items():
            if self._sync(ensure, state) is not None:
                self._refuse(name, state)
        return {self._key(name): state for name, state in have.items()}

    def changes(self, desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
        changes = []
        for key, want in desired.items():
            have: PackageState = current[key]
            shown = self._sync(want, have)
            if shown is not None:
                changes.append(Change(key, str(have), shown))
        return changes

    @staticmethod
    def _sync(want: str, have: PackageState) -> str | None:
        """None when `have` satisfies `want`, else what the change is shown to go to."""
        if want == "absent":
            return None if have.version is None else "absent"
        if want == "purged":
            return None if have.state == "purged" else "purged"
        if have.version is None:
            return have.candidate or want
        if want == "installed":
            return None
        if want == "latest":
            if have.candidate is None or compare_versions(have.version, have.candidate) >= 0:
                return None
            return have.candidate
        return None if compare_versions(have.version, want) == 0 else want

    def _refuse(self, name: str, have: PackageState) -> None:
        """Errors for changes tend will not make: to a held package, or a downgrade not allowed."""
        if have.held:
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

    def fix(self, system: Host, provider: PackageProvider, changes: list[Change]) -> None:
        names = [name for name in self.names if self._key(name) in {c.property for c in changes}]
        ensure = self.ensure
        if ensure in ("absent", "purged"):
            provider.remove(names, purge=ensure == "purged")
            return
        version = None if ensure in ("installed", "latest") else ensure
        provider.install(names, version, allow_downgrade=bool(self.values["allow_downgrade"]))
