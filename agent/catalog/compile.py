"""Compiles a host's catalog: classes from the data, parameters looked up, resources rendered and related."""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from agent.catalog.checks import Check
from agent.catalog.defines import Instances, Origin, duplicate, members
from agent.catalog.dropping import remove_dropped
from agent.catalog.graph import Catalog, Edge, Relation
from agent.catalog.ownership import check_edits, mark_purges
from agent.catalog.render import Renderer
from agent.catalog.sources import expand_trees, load_source, repo_file
from agent.data.dotted_keys import MISSING
from agent.data.encrypted import EncryptedValue
from agent.data.hiera import Hiera, LookupContext
from agent.data.sensitive import SensitiveValue
from agent.errors import ManifestError, NotFound, SecretError, TendError
from agent.formats import did_you_mean
from agent.location import Location
from agent.manifest.loader import ManifestLoader
from agent.manifest.model import ClassDefinition, Declaration
from agent.resources import TYPES
from agent.resources.base import RELATIONS, Resource
from agent.secrets.secret import HUNTED_BYTES, Secret, as_secret


class Decryptor(Protocol):
    """What the compiler calls for each encrypted value it meets: the Secret the catalog uses in its
    place (a placeholder where this run may not decrypt), or an error. agent/secrets/reader.py
    `HostSecrets` is the one a host's run uses."""

    def __call__(self, value: EncryptedValue) -> Secret: ...


TITLE_FROM_SECRET = "the title may not be computed from a secret: it is shown in every report"


class _Absent(str):
    """What a tolerant compile (recipient derivation) gets for a key missing from the data: an empty
    string that also answers any attribute, item or call with itself, so templates render on."""

    def __getattr__(self, name: str) -> _Absent:
        return self

    def __getitem__(self, key: Any) -> _Absent:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Absent:
        return self


ABSENT = _Absent("")


def refuse_secrets(value: EncryptedValue) -> Secret:
    raise SecretError(f"'{value.key}' ({value.file}) is encrypted and this run has no key to read it")


def reveal(value: Any, reader: Decryptor) -> Any:
    if isinstance(value, EncryptedValue):
        return reader(value)
    if isinstance(value, SensitiveValue):
        return as_secret(reveal(value.value, reader), key=value.key, file=value.file)
    if isinstance(value, list):
        return [reveal(v, reader) for v in value]
    if isinstance(value, dict):
        return {k: reveal(v, reader) for k, v in value.items()}
    return value


class Compiler:
    """Compiles catalogs from one repository; manifests, templates and data are read once for every host."""

    def __init__(
        self,
        root: Path,
        hiera: Hiera | None = None,
        *,
        secrets: Decryptor = refuse_secrets,
        tolerant: bool = False,
    ):
        """`tolerant`: a lookup of a key missing from the data gives an empty value instead of an error,
        so recipients can be derived for keys the manifests use before an admin sets them."""
        self.root = root
        self.hiera = hiera or Hiera(root)
        self.loader = ManifestLoader(root, tuple(TYPES))
        self.renderer = Renderer(root)
        self.secrets = secrets
        self.tolerant = tolerant
        self.plaintexts: set[str] = set()  # what this compiler's reader gave, for the last line of defence
        self.instances = Instances(self.loader, self.renderer, self._declared)

    def sibling(self, secrets: Decryptor) -> Compiler:
        """A compiler of the same repository with another reader: what was read and parsed is shared, what a
        compile gathers (plaintexts, define relations) is its own."""
        other = copy.copy(self)
        other.secrets = secrets
        other.plaintexts = set()
        other.instances = Instances(other.loader, other.renderer, other._declared)
        return other

    def _read(self, value: EncryptedValue) -> Any:
        secret = self.secrets(value)
        if isinstance(secret, Secret) and len(secret.reveal().encode()) >= HUNTED_BYTES:
            self.plaintexts.add(secret.reveal())
        return secret

    def compile(self, facts: Mapping[str, Any], host: str | None = None) -> tuple[Catalog, LookupContext]:
        context = self.hiera.context(facts)
        catalog = Catalog(host or str(facts.get("hostname", "")))
        relations: list[tuple[Resource, str, Any]] = []
        managed: dict[str, Resource] = {}
        for definition in self._classes(context):
            catalog.classes.append(definition.name)
            variables = self._variables(definition, context, facts)
            catalog.checks.extend(self._checks(definition, variables))
            for declaration in definition.resources:
                for resource, refs in self._declared(declaration, variables, catalog.warnings):
                    other = catalog.resources.get(resource.id) or managed.get(resource.identity)
                    if other is not None:
                        raise duplicate(resource, other)
                    managed[resource.identity] = resource
                    catalog.resources[resource.id] = resource
                    catalog.warnings.extend(resource.warnings())
                    relations.extend((resource, name, refs[name]) for name in refs)
        expand_trees(self.root, catalog, relations)
        catalog.instances = members(catalog.resources.values())
        check_edits(catalog)
        mark_purges(catalog)
        _relate(catalog, [*relations, *self.instances.take_relations()])
        catalog.remove_dropped = remove_dropped(context)
        catalog.sort()
        catalog.warnings.extend(context.warnings)
        return catalog, context

    def _declared(
        self, declaration: Declaration, variables: dict[str, Any], warnings: list[str]
    ) -> list[tuple[Resource, dict[str, Any]]]:
        """A resource declaration's resources, or a define instance's (agent/catalog/defines.py)."""
        if declaration.type in TYPES:
            return _Declared(self, declaration, variables, warnings).resources()
        return self.instances.expand(declaration, variables, warnings)

    def _classes(self, context: LookupContext) -> list[ClassDefinition]:
        try:
            found = context.lookup("classes", "unique")
            names, where = found.value, Location(found.sources[0].file, found.sources[0].line)
        except NotFound:
            return []
        ordered: list[ClassDefinition] = []
        seen: set[str] = set()
        pending = [(name, where) for name in names]
        while pending:
            name, origin = pending.pop(0)
            if not isinstance(name, str):
                raise ManifestError(f"a class name must be a string, not {name!r}", location=origin)
            if name in seen:
                continue
            seen.add(name)
            definition = self.loader.load(name, wanted_at=origin)
            ordered.append(definition)
            pending.extend(definition.includes)
        return ordered

    def _variables(self, definition: ClassDefinition, context: LookupContext, facts: Mapping[str, Any]) -> dict:
        variables: dict[str, Any] = {"facts": facts, "lookup": self._lookup_function(context)}
        for name, default in definition.parameters.items():
            where = Location(definition.location.file, definition.parameter_lines.get(name))
            try:
                value = context.lookup_value(f"{definition.name}::{name}", default)
                variables[name] = reveal(value, self._read)
            except TendError as error:
                if error.location is None:
                    error.location, error.subject = where, f"parameter '{name}'"
                raise
        return variables

    def _checks(self, definition: ClassDefinition, variables: dict[str, Any]) -> list[Check]:
        checks = []
        for declared in definition.checks:
            target = self.renderer.value(declared.target, variables, declared.location)
            options = self.renderer.value(declared.options, variables, declared.location)
            if target.sensitive or options.sensitive:
                raise ManifestError("a check may not be computed from a secret", location=declared.location)
            check = Check(declared.kind, target.value, options.value, declared.location, definition.name)
            check.validate()
            checks.append(check)
        return checks

    def _lookup_function(self, context: LookupContext) -> Callable[..., Any]:
        def lookup(key: str, default: Any = MISSING, merge: Any = None) -> Any:
            if self.tolerant and default is MISSING:
                default = ABSENT
            return reveal(context.lookup_value(key, default, merge), self._read)

        return lookup


class _Declared:
    """One declaration expanded: its loop items, `when`, rendered title and attributes."""

    def __init__(self, compiler: Compiler, declaration: Declaration, variables: dict[str, Any], warnings: list[str]):
        self.compiler = compiler
        self.warnings = warnings
        self.declaration = declaration
        self.variables = variables

    def _render(self, value: Any, variables: dict[str, Any], attribute: str | None) -> Any:
        try:
            return self.compiler.renderer.value(value, variables, self.declaration.where(attribute))
        except ManifestError as error:
            error.subject = error.subject or self._name()
            raise

    def _name(self) -> str:
        """The resource as written (its title may still be a template)."""
        return f"{self.declaration.type}:{self.declaration.title}"

    def resources(self) -> list[tuple[Resource, dict[str, Any]]]:
        attributes = dict(self.declaration.attributes)
        loop = attributes.pop("loop", None)
        items: list[Any] = [MISSING]
        if loop is not None:
            items = self._render(loop, self.variables, "loop").value
            if not isinstance(items, list):
                raise ManifestError(f"loop must give a list, not {items!r}", location=self.declaration.where("loop"))
        out = []
        for item in items:
            variables = self.variables if item is MISSING else {**self.variables, "item": item}
            built = self._build(dict(attributes), variables)
            if built is not None:
                out.append(built)
        return out

    def _build(self, attributes: dict[str, Any], variables: dict[str, Any]) -> tuple[Resource, dict] | None:
        declaration = self.declaration
        when = attributes.pop("when", None)
        condition = None if when is None else self._render(when, variables, "when")
        if condition is not None and not condition.value:
            return None
        title = self._render(declaration.title, variables, None)
        if title.sensitive or _holds_plaintext(title.value, self.compiler.plaintexts):
            # Named as written: the rendered title is the very thing that may not be shown.
            raise ManifestError(TITLE_FROM_SECRET, location=declaration.location, subject=self._name())
        values: dict[str, Any] = {}
        tainted = {"when"} if condition is not None and condition.sensitive else set()
        for name, raw in attributes.items():
            rendered = self._render(raw, variables, name)
            values[name] = rendered.value
            if rendered.sensitive:
                tainted.add(name)
        try:
            self._load_content(values, variables, tainted)
        except ManifestError as error:
            error.subject = error.subject or self._name()
            raise
        cls = TYPES[declaration.type]
        found = self._defend(cls, str(title.value), values, tainted)
        tainted |= found
        refs = {name: values.pop(name) for name in RELATIONS if name in values}
        tags = values.pop("tags", None) or []
        on_drop = values.pop("on_drop", None)
        resource = cls(
            title=str(title.value),
            values=values,
            location=declaration.location,
            class_name=declaration.class_name,
            sensitive=bool(tainted),
            tags=tuple(str(t) for t in ([tags] if isinstance(tags, str) else tags)),
            attribute_lines=declaration.attribute_lines,
            tainted=frozenset(tainted),
            on_drop=on_drop,
        )
        resource.check_on_drop()
        resource.check_attributes()
        resource.validate()
        return resource, refs

    def _defend(self, cls: type[Resource], title: str, values: dict[str, Any], tainted: set[str]) -> set[str]:
        """The last line of defence (DESIGN §8.8): attributes that hold a plaintext read in this run though
        taint missed it are made sensitive (redacted wherever they are shown), with a warning; never a mode."""
        plaintexts = self.compiler.plaintexts
        found = {n for n, v in values.items() if n not in tainted and _holds_plaintext(v, plaintexts)}
        if not found:
            return found
        where = self.declaration.where(sorted(found)[0])
        rid = f"{cls.type_name}:{title}"
        if "mode" in cls.attributes and values.get("mode") is None and "content" in found:
            raise ManifestError(
                "the content holds a secret's plaintext though it was not computed from one (copied into clear "
                'data?): give mode explicitly (e.g. "0600"), tend does not choose it for a file that may be '
                "readable by group or others",
                location=where,
                subject=rid,
            )
        self.warnings.append(
            f"{where}: {rid}: {', '.join(sorted(found))} holds the plaintext of a secret read in this run, though "
            "not computed from one: treated as sensitive (redacted in diffs and reports)"
        )
        return found

    def _load_content(self, values: dict[str, Any], variables: dict[str, Any], tainted: set[str]) -> None:
        """`template:` and `source:` become `content` (a file's), read from the repository."""
        where = self.declaration.where
        if values.get("template") is not None and values.get("content") is None:
            rendered = self.compiler.renderer.template(values.pop("template"), variables, where("template"))
            values["content"] = rendered.value
            if rendered.sensitive:
                tainted.add("content")
        if values.get("source") is not None and values.get("content") is None:
            load_source(self.compiler.root, values, where("source"))
        for name, spec in TYPES[self.declaration.type].attributes.items():
            value = values.get(name)
            if spec.from_files and isinstance(value, str) and "\n" not in value.strip():
                path = repo_file(self.compiler.root, value.strip(), where(name), name)
                if not path.is_file():
                    raise ManifestError(f"{name}: files/{value.strip()} is not a file", location=where(name))
                values[name] = path.read_bytes()


def _holds_plaintext(value: Any, plaintexts: set[str]) -> bool:
    """Some plaintext inside a rendered value outside a Secret (keys of hashes included)."""
    if not plaintexts or isinstance(value, Secret):
        return False
    if isinstance(value, str):
        return any(p in value for p in plaintexts)
    if isinstance(value, bytes):
        return any(p.encode() in value for p in plaintexts)
    if isinstance(value, list):
        return any(_holds_plaintext(v, plaintexts) for v in value)
    if isinstance(value, dict):
        return any(_holds_plaintext(k, plaintexts) or _holds_plaintext(v, plaintexts) for k, v in value.items())
    return False


def _relate(catalog: Catalog, relations: list[tuple[Resource | Origin, str, Any]]) -> None:
    by_class: dict[str, list[str]] = {}
    for rid, declared in catalog.resources.items():
        by_class.setdefault(declared.class_name, []).append(rid)
    explicit: set[tuple[str, str]] = set()
    for resource, name, refs in relations:
        for ref in refs if isinstance(refs, list) else [refs]:
            for other in _targets(catalog, by_class, resource, name, ref):
                # An instance's relations hold for each of its resources.
                for member in catalog.instances.get(resource.id, [resource.id]):
                    if member == other:
                        continue
                    source, target = (other, member) if name in ("require", "subscribe") else (member, other)
                    catalog.edges.append(Edge(source, target, Relation(name)))
                    explicit.add((source, target))
    matches: dict[str, list[str]] = {}
    for rid, resource in catalog.resources.items():
        for ref in _expand(catalog, resource.implicit_requires(), matches):
            if ref in catalog.resources and (ref, rid) not in explicit and ref != rid:
                catalog.edges.append(Edge(ref, rid, Relation.IMPLICIT))
        for ref in _expand(catalog, resource.implicit_subscribes(), matches):
            if ref in catalog.resources and (ref, rid) not in explicit and ref != rid:
                catalog.edges.append(Edge(ref, rid, Relation.SUBSCRIBE))


def _expand(catalog: Catalog, refs: list[str], matches: dict[str, list[str]]) -> list[str]:
    """Implicit references, a `*` matching any text: `apt_source:*` is every apt source (a package needs
    them all), `file:/etc/systemd/system/x.service.d/*.conf` every drop-in of a unit. `matches` keeps each
    pattern's resources for the whole catalog: every package names `apt_source:*`, and matching it anew for
    each would make the catalog's cost grow with the square of its packages."""
    found: list[str] = []
    for ref in refs:
        if "*" not in ref:
            found.append(ref)
            continue
        if ref not in matches:
            matches[ref] = fnmatch.filter(catalog.resources, ref)
        found += matches[ref]
    return found


def _targets(
    catalog: Catalog, by_class: dict[str, list[str]], resource: Resource | Origin, name: str, ref: Any
) -> list[str]:
    where = resource.where(name)
    if not isinstance(ref, str) or ":" not in ref:
        raise ManifestError(
            f"{name}: {ref!r} is not a reference (type:title or class:name)", location=where, subject=resource.id
        )
    if ref.startswith("class:"):
        if ref[len("class:") :] not in catalog.classes:
            raise ManifestError(f"{name}: no class '{ref[6:]}' in this catalog", location=where, subject=resource.id)
        return [m for m in by_class.get(ref[len("class:") :], []) if m != resource.id]
    if ref in catalog.instances:
        return [m for m in catalog.instances[ref] if m != resource.id]
    if ref not in catalog.resources:
        hint = did_you_mean(ref, [*catalog.resources, *catalog.instances])
        raise ManifestError(f"{name}: no resource {ref} in this catalog{hint}", location=where, subject=resource.id)
    return [ref]
