"""The `package` type: installed, latest, absent, purged or an exact version; a list of names is one transaction;
holds, recommends and debconf answers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Protocol

from agent.errors import HostError
from agent.providers import provider_names
from agent.providers.debconf import TYPES as DEBCONF_TYPES
from agent.providers.debconf import Answer
from agent.providers.debversion import compare_versions, is_version
from agent.providers.packages import PackageState
from agent.resources.base import Attr, Change, Resource
from agent.secrets.secret import Secret
from agent.system import Host

KEYWORDS = ("installed", "present", "latest", "absent", "purged")
GONE = ("absent", "purged")
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$")
_QUESTION = re.compile(r"^[a-z0-9][a-z0-9+.-]*/\S+$")


class PackageProvider(Protocol):
    """What the package type asks of its provider (agent/providers/apt.py)."""

    def states(self, names: Sequence[str], *, candidates: bool) -> dict[str, PackageState]:
        """Each package's state; with `candidates`, the version an upgrade would install too (after
        refreshing stale lists, outside noop)."""
        ...

    def unlisted(self, names: Sequence[str], version: str | None) -> list[str]:
        """The packages the current lists do not offer; an error instead when the lists are fresh."""
        ...

    def install(
        self,
        names: Sequence[str],
        version: str | None,
        *,
        allow_downgrade: bool,
        recommends: bool | None,
        answers: Sequence[Answer],
    ) -> None:
        """Install or upgrade every package (to `version` when given) in one transaction, debconf answers first."""
        ...

    def remove(self, names: Sequence[str], *, purge: bool) -> None: ...
    def set_hold(self, names: Sequence[str], hold: bool) -> None: ...


def _debconf(answers: dict[Any, Any]) -> str | None:
    """What is wrong with a `debconf:` hash of `{question: {type, value}}`, or None."""
    for question, answer in answers.items():
        if not isinstance(question, str) or not _QUESTION.match(question):
            return f"debconf: {question!r} is not a question name like 'package/question'"
        if not isinstance(answer, dict) or set(answer) != {"type", "value"}:
            return f"debconf: {question} must be a hash of type and value, like {{type: string, value: x}}"
        if answer["type"] not in DEBCONF_TYPES:
            return f"debconf: {question}: type must be one of {', '.join(DEBCONF_TYPES)}, not {answer['type']!r}"
        if not isinstance(answer["value"], str | bool | int | Secret):
            return f"debconf: {question}: value must be a string, a number or true/false"
    return None


class Package(Resource[PackageProvider]):
    type_name: ClassVar[str] = "package"
    undoing: ClassVar[dict[str, Any] | None] = {"ensure": "absent"}
    attributes: ClassVar[dict[str, Attr]] = {
        "name": Attr((str, list), secret_ok=False),
        "ensure": Attr((str, int, float), default="installed", secret_ok=False),
        "allow_downgrade": Attr((bool,), default=False),
        "hold": Attr((bool,)),
        "install_recommends": Attr((bool,)),
        "debconf": Attr((dict,), check=_debconf),
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
        if self.values.get("hold") and ensure in GONE:
            raise self.fail(f"hold: true needs the package installed, not ensure: {ensure}", "hold")

    def implicit_requires(self) -> list[str]:
        return ["apt_source:*"]

    def _key(self, name: str) -> str:
        """The property a package is reported under: `ensure` for one package, its name in a list."""
        return "ensure" if len(self.names) == 1 else name

    def _held(self, held: Sequence[str]) -> bool | list[str]:
        """The `hold` property: true or false for one package, the sorted names held for a list."""
        return bool(held) if len(self.names) == 1 else sorted(held)

    def desired(self) -> dict[str, Any]:
        desired: dict[str, Any] = {self._key(name): self.ensure for name in self.names}
        hold = self.values.get("hold")
        if hold is not None and self.ensure not in GONE:
            desired["hold"] = self._held(self.names if hold else [])
        return desired

    def current(self, system: Host, provider: PackageProvider) -> dict[str, Any]:
        """Each package's state; refused downgrades and packages apt does not offer (with fresh lists) fail
        here, so a plan shows them."""
        ensure = self.ensure
        have = provider.states(self.names, candidates=ensure == "latest")
        version = None if ensure in KEYWORDS else ensure
        looked_for = []
        for name, state in have.items():
            if self._sync(ensure, state) is not None:
                self._refuse(name, state)
                if ensure not in GONE and (state.version is None or version is not None):
                    looked_for.append(name)
        unlisted = set(provider.unlisted(looked_for, version)) if looked_for else set()
        current: dict[str, Any] = {
            self._key(name): replace(state, listed=name not in unlisted) for name, state in have.items()
        }
        current["hold"] = self._held([name for name, state in have.items() if state.held])
        return current

    def changes(self, desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
        changes = []
        for key, want in desired.items():
            if key == "hold":
                continue
            have: PackageState = current[key]
            shown = self._sync(want, have)
            if shown is not None:
                # An upgrade to a newer candidate is what `latest` asks for by itself: never drift.
                upgrade = want == "latest" and have.version is not None
                changes.append(Change(key, str(have), shown, drift=not upgrade))
        if "hold" in desired and current["hold"] != desired["hold"]:
            changes.append(Change("hold", current["hold"], desired["hold"]))
        return changes

    @staticmethod
    def _sync(want: str, have: PackageState) -> str | None:
        """None when `have` satisfies `want`, else what the change is shown to go to."""
        if want == "absent":
            return None if have.version is None else "absent"
        if want == "purged":
            return None if have.state == "purged" else "purged"
        if not have.listed:
            return f"{want} (not in current lists)"
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
        """The error for a change tend will not make: a downgrade not allowed."""
        ensure = self.ensure
        downgrade = ensure not in KEYWORDS and have.version and compare_versions(have.version, ensure) > 0
        if downgrade and not self.values["allow_downgrade"]:
            raise HostError(
                f"installing {name} {ensure} would downgrade it from {have.version}; "
                "set allow_downgrade: true to allow that"
            )

    def _answers(self) -> list[Answer]:
        """The debconf answers, each owned by the package its question is named after (else the first)."""
        answers = []
        for question, answer in sorted((self.values.get("debconf") or {}).items()):
            owner = question.split("/", 1)[0]
            value = answer["value"]
            text = value if isinstance(value, Secret) else str(value).lower() if isinstance(value, bool) else str(value)
            answers.append(Answer(owner if owner in self.names else self.names[0], question, answer["type"], text))
        return answers

    def fix(self, system: Host, provider: PackageProvider, changes: list[Change]) -> None:
        changed = {c.property for c in changes}
        names = [name for name in self.names if self._key(name) in changed]
        ensure = self.ensure
        if names and ensure in GONE:
            provider.remove(names, purge=ensure == "purged")
        elif names:
            provider.install(
                names,
                None if ensure in ("installed", "latest") else ensure,
                allow_downgrade=bool(self.values["allow_downgrade"]),
                recommends=self.values.get("install_recommends"),
                answers=self._answers(),
            )
        if "hold" in changed:
            provider.set_hold(self.names, bool(self.values["hold"]))
