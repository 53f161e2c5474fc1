"""The resource contract: typed attributes, desired and current state as flat dicts, check apart from change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from agent.errors import ManifestError
from agent.formats import did_you_mean
from agent.location import Location
from agent.secrets.secret import Secret, holds_secret
from agent.system import Host

# Attributes every resource takes; the compiler handles them, the types never see them.
RELATIONS = ("require", "before", "notify", "subscribe")
META = (*RELATIONS, "tags", "loop", "when", "on_drop")
ON_DROP = ("keep", "remove")

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of a type, declared once; its name is its key in the type's `attributes`.

    `kinds`: the Python types it takes; `default`; `required`; `choices`: the values allowed;
    `check`: any further rule, giving the message that says what is wrong with a value (None:
    nothing); `secret_ok`: False where a secret would leak (argv, file names); `managed`: a
    property of the host that the generic `desired` and `changes` compare; `sensitive`: its values
    are left out of reports when the resource holds a secret; `from_files`: a one-line value names a
    file under the repository's `files/`, whose content the compiler puts in its place.
    """

    kinds: tuple[type, ...]
    default: Any = None
    choices: tuple[Any, ...] = ()
    required: bool = False
    secret_ok: bool = True
    managed: bool = False
    sensitive: bool = False
    check: Callable[[Any], str | None] | None = None
    from_files: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """One property that differs: `from` and `to` are left out of reports when they are hidden.

    `drift`: False for a change that the unchanged desired state asks for by itself (a newer
    version for `latest`), which nobody made behind tend's back."""

    property: str
    old: Any
    new: Any
    drift: bool = True

    def to_json(self, hidden: bool) -> dict[str, Any]:
        if hidden:
            return {"property": self.property}
        return {"property": self.property, "from": self.old, "to": self.new}


@dataclass(slots=True)
class Resource(Generic[P]):
    """A resource of some type, rendered and validated; `P` is the provider family that serves it.

    Subclasses MUST set `type_name` and `attributes` and implement `current` and `fix`. The
    generic `desired` gives the `managed` attributes; the generic `changes` knows presence: when
    `ensure` may be `absent`, a differing `ensure` is the one change (the rest follows from it)
    and nothing else matters while absent. `current` leaves out what it cannot observe here (that
    property is then not compared). Subclasses SHOULD override `validate` for rules across
    attributes and `implicit_requires` for what they need declared before them. They MAY
    override `desired` (computed values), set `refreshable` and implement `refresh` (what a notify
    does), implement `diff_text` (the unified diff `tend plan` shows) and `implicit_subscribes`
    (declared resources whose change refreshes this one), `owned_paths` (what a purge keeps), and
    `strays` with `purge` (what a purge removes). They MAY set `undoing` (the attributes that undo the
    resource once it is dropped from the manifests; None: never undone) and `undo_keeps` (the
    attributes the undoing resource needs from the declared one). The runner asks the registry
    (agent.providers.Providers) for the provider and passes it to `current`, `fix` and `refresh`;
    types without providers get None.
    """

    type_name: ClassVar[str] = ""
    attributes: ClassVar[Mapping[str, Attr]] = {}
    refreshable: ClassVar[bool] = False
    drift_detectable: ClassVar[bool] = True  # False: being out of sync is its normal state (an exec)
    # True: fix() only writes files through the host and reads nothing another resource may have written but
    # its own path, so its writes may wait in the durability batch (DESIGN §8.16).
    batched: ClassVar[bool] = False
    undoing: ClassVar[Mapping[str, Any] | None] = None
    undo_keeps: ClassVar[tuple[str, ...]] = ("name", "path", "provider")

    title: str
    values: dict[str, Any]
    location: Location
    class_name: str = ""
    sensitive: bool = False
    tags: tuple[str, ...] = ()
    attribute_lines: Mapping[str, int] = field(default_factory=dict)
    tainted: frozenset[str] = frozenset()  # attributes whose value was computed from a secret
    on_drop: str | None = None  # keep | remove once dropped from the manifests; None: as tend::remove_dropped says
    within: tuple[tuple[str, Location], ...] = ()  # the define instances it came from, outermost first
    _id: str = field(default="", init=False, repr=False, compare=False)

    @property
    def instance(self) -> str | None:
        """The define instance that declared it (`app::worker:billing`), None for a class's own resource."""
        return self.within[-1][0] if self.within else None

    @property
    def id(self) -> str:
        """`type:title`, made once: the catalog, its edges, the state and the report share the one string."""
        if not self._id:
            self._id = f"{self.type_name}:{self.title}"
        return self._id

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
        """Unknown names, wrong types, bad choices, failed checks and missing required attributes."""
        for name, value in self.values.items():
            spec = self.attributes.get(name)
            if spec is None:
                hint = did_you_mean(name, [*self.attributes, *META])
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
            problem = spec.check(value) if spec.check is not None else None
            if problem is not None:
                raise self.fail(problem, name)
        for name, spec in self.attributes.items():
            if spec.required and self.values.get(name) is None:
                raise self.fail(f"'{name}' is required")
            self.values.setdefault(name, spec.default)

    def validate(self) -> None:
        """Rules across attributes; raise self.fail(...)."""

    def check_on_drop(self) -> None:
        if self.on_drop is not None and self.on_drop not in ON_DROP:
            raise self.fail(f"'on_drop' must be one of {', '.join(ON_DROP)}, not {self.on_drop!r}", "on_drop")

    def undo(self) -> dict[str, Any] | None:
        """The attributes of the resource that undoes this one once dropped, as the state records them:
        only what undoing needs, never a value computed from a secret; None when it is never undone."""
        if self.undoing is None:
            return None
        kept = {
            name: self.values[name]
            for name in self.undo_keeps
            if self.values.get(name) is not None and name not in self.tainted and not holds_secret(self.values[name])
        }
        return {**kept, **self.undoing}

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
        """References of resources that, when declared, come before this one and refresh it when they change
        (a `*` matches any run of characters: `file:/etc/x.d/*.conf`)."""
        return []

    def owned_paths(self) -> list[str]:
        """Host paths this resource owns: a purged directory keeps them (DESIGN §8.17)."""
        return []

    def declared_twice(self, other: Resource[Any]) -> ManifestError:
        """The error for declaring again what `other` declares; a type MAY say how to tell them apart."""
        return self.fail(f"declared twice: also at {other.location} ({other.id})")

    def strays(self, system: Host) -> list[str]:
        """Paths to purge that nothing declares (a purged directory's); the runner reports each as `file:<path>`."""
        return []

    def purge(self, system: Host, path: str) -> None:
        """Remove one of `strays`, its content to the bucket."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """What the resource manages by name: its `name` attribute when it has one, else its title."""
        return self.values.get("name") or self.title

    @property
    def presence(self) -> bool:
        """Whether the type's `ensure` can be `absent`: then the other properties matter only when present."""
        ensure = self.attributes.get("ensure")
        return ensure is not None and "absent" in ensure.choices

    def hides(self, name: str) -> bool:
        """Whether a change of the property `name` is reported without its values."""
        spec = self.attributes.get(name)
        return self.sensitive and spec is not None and spec.sensitive

    def desired(self) -> dict[str, Any]:
        """The managed attributes (None: left alone); only `ensure` when the resource is to be absent."""
        if self.presence and self.values.get("ensure") == "absent":
            return {"ensure": "absent"}
        return {name: self.values.get(name) for name, spec in self.attributes.items() if spec.managed}

    def current(self, system: Host, provider: P) -> dict[str, Any]:
        raise NotImplementedError

    def changes(self, desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
        """What differs, presence first (see the class docstring); then each managed property that
        `current` reports."""
        if self.presence:
            want, have = desired.get("ensure"), current.get("ensure")
            if want is not None and want != have:
                return [Change("ensure", have, want)]
            if want == "absent":
                return []
        return [
            Change(key, current[key], want)
            for key, want in desired.items()
            if want is not None and key in current and current[key] != want
        ]

    def fix(self, system: Host, provider: P, changes: list[Change]) -> None:
        raise NotImplementedError

    def refresh(self, system: Host, provider: P) -> None:
        raise NotImplementedError

    def diff_text(self, system: Host) -> str | None:
        return None


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
            dict: "a hash", type(None): "null"}.get(kind, kind.__name__)  # fmt: skip
