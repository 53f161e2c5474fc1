"""The resource contract: typed attributes, desired and current state as flat dicts, check apart from change."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agent.errors import ManifestError
from agent.location import Location
from agent.secrets.secret import Secret, holds_secret
from agent.system import System

# Attributes every resource takes; the compiler handles them, the types never see them.
RELATIONS = ("require", "before", "notify", "subscribe")
META = (*RELATIONS, "tags", "loop", "when")


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of a type: accepted Python types, allowed values, default, and whether it is required."""

    kinds: tuple[type, ...]
    default: Any = None
    choices: tuple[Any, ...] = ()
    required: bool = False
    secret_ok: bool = True  # False: a secret here would leak (argv, file names)


@dataclass(frozen=True, slots=True)
class Change:
    """One property that differs: `from` and `to` are left out of reports when the resource is sensitive."""

    property: str
    old: Any
    new: Any

    def to_json(self, sensitive: bool) -> dict[str, Any]:
        if sensitive and self.property in SENSITIVE_PROPERTIES:
            return {"property": self.property}
        return {"property": self.property, "from": self.old, "to": self.new}


SENSITIVE_PROPERTIES = frozenset(["content", "environment", "stdin"])


@dataclass(slots=True)
class Resource:
    """A resource of some type, rendered and validated.

    Subclasses MUST set `type_name` and `attributes` and implement `desired`, `current` and
    `fix`. They SHOULD override `validate` for rules across attributes and `implicit_requires`
    for what they need declared before them. They MAY set `refreshable` and implement `refresh`
    (what a notify does), `diff_text` (the unified diff `tend plan` shows), and
    `implicit_subscribes` (declared resources whose change refreshes this one). Types served by
    providers find this run's `providers` (agent.providers.Providers) bound before `current`.
    """

    type_name: ClassVar[str] = ""
    attributes: ClassVar[Mapping[str, Attr]] = {}
    refreshable: ClassVar[bool] = False
    drift_detectable: ClassVar[bool] = True  # False: being out of sync is its normal state (an exec)

    title: str
    values: dict[str, Any]
    location: Location
    class_name: str = ""
    sensitive: bool = False
    tags: tuple[str, ...] = ()
    attribute_lines: Mapping[str, int] = field(default_factory=dict)
    tainted: frozenset[str] = frozenset()  # attributes whose value was computed from a secret
    providers: Any = field(default=None, repr=False, compare=False)  # this run's Providers, from `bind`

    @property
    def id(self) -> str:
        return f"{self.type_name}:{self.title}"

    @property
    def identity(self) -> str:
        """What must be unique in a catalog: the thing managed (a user's name, a file's path), not the title."""
        return f"{self.type_name}:{self.name}"

    def where(self, attribute: str | None = None) -> Location:
        line = self.attribute_lines.get(attribute) if attribute else None
        return Location(self.location.file, line or self.location.line)

    def fail(self, message: str, attribute: str | None = None) -> ManifestError:
        return ManifestError(message, location=self.where(attribute), subject=self.id)

    def check_attributes(self) -> None:
        """Unknown names, wrong types, bad choices and missing required attributes, with did-you-mean."""
        for name, value in self.values.items():
            spec = self.attributes.get(name)
            if spec is None:
                close = difflib.get_close_matches(name, [*self.attributes, *META], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(f"unknown attribute '{name}'{hint}", name)
            if value is None:
                continue
            if not spec.secret_ok and (name in self.tainted or holds_secret(value)):
                raise self.fail(
                    f"'{name}' may not be computed from a secret: it would be visible to others (argv, "
                    "paths, the report); pass secrets in content, environment or stdin",
                    name,
                )
            # A secret stands in for a string only; and a value computed from one is never shown.
            kinds = (*spec.kinds, Secret) if str in spec.kinds else spec.kinds
            shown = "computed from a secret" if name in self.tainted or holds_secret(value) else repr(value)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in spec.kinds):
                wanted = " or ".join(_kind_name(k) for k in spec.kinds)
                raise self.fail(f"'{name}' must be {wanted}, not {_kind_name(type(value))} ({shown})", name)
            if spec.choices and value not in spec.choices:
                allowed = ", ".join(str(c) for c in spec.choices)
                raise self.fail(f"'{name}' must be one of {allowed}, not {shown}", name)
        for name, spec in self.attributes.items():
            if spec.required and self.values.get(name) is None:
                raise self.fail(f"'{name}' is required")
            self.values.setdefault(name, spec.default)

    def validate(self) -> None:
        """Rules across attributes; raise self.fail(...)."""

    def temp_dirs(self) -> list[str]:
        """Managed directories this resource writes temp files in (cleaned of a killed run's at the start)."""
        return []

    def warnings(self) -> list[str]:
        """Things allowed but worth a word on stderr."""
        return []

    def implicit_requires(self) -> list[str]:
        """References of resources this one needs before it, when they are declared."""
        return []

    def implicit_subscribes(self) -> list[str]:
        """References of resources that, when declared, come before this one and refresh it when they change."""
        return []

    def bind(self, providers: Any) -> None:
        """Called by the runner before the run: keeps the run's providers (agent.providers.Providers)."""
        self.providers = providers

    def provider(self) -> Any:
        """This resource's provider, as the run's registry chose it."""
        return self.providers.get(self.type_name, self.values)

    @property
    def name(self) -> str:
        """What the resource manages by name: its `name` attribute when it has one, else its title."""
        return self.values.get("name") or self.title

    def desired(self) -> dict[str, Any]:
        raise NotImplementedError

    def current(self, system: System) -> dict[str, Any]:
        raise NotImplementedError

    def changes(self, desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
        """The properties whose desired value (None: not managed) differs from the current one."""
        return [
            Change(key, current.get(key), want)
            for key, want in desired.items()
            if want is not None and current.get(key) != want
        ]

    def fix(self, system: System, changes: list[Change]) -> None:
        raise NotImplementedError

    def refresh(self, system: System) -> None:
        raise NotImplementedError

    def diff_text(self, system: System) -> str | None:
        return None


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
            dict: "a hash", type(None): "null"}.get(kind, kind.__name__)  # fmt: skip
