"""A file's `source:`: a file under files/ read into content, a URL left to fetch at apply, or a directory
under files/ expanded into one child `file` per entry (an entry declared explicitly wins)."""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import Any

from agent.catalog.graph import Catalog
from agent.catalog.render import safe_relative
from agent.errors import ManifestError
from agent.location import Location
from agent.resources.base import RELATIONS, Resource
from agent.resources.file import URL_SCHEMES, File

FILES = "files"


def load_source(root: Path, values: dict[str, Any], where: Location) -> None:
    """Resolve `values['source']`: a file's bytes become `content`; a URL stays; a directory stays, and makes
    the resource a directory (`ensure: directory`, which it may also say)."""
    name = str(values["source"])
    if "://" in name:
        if not name.startswith(URL_SCHEMES):
            raise ManifestError(f"source {name!r}: a URL source must be https:// or http://", location=where)
        return
    path = repo_file(root, name, where, "source")
    if path.is_dir():
        if values.get("ensure") not in (None, "directory"):
            raise ManifestError(
                f"source {FILES}/{name} is a directory: it needs ensure: directory, not {values['ensure']}",
                location=where,
            )
        values["ensure"] = "directory"
        return
    del values["source"]
    values["content"] = path.read_bytes()


def repo_file(root: Path, name: str, where: Location, what: str) -> Path:
    """The path of `name` under the repository's files/, after symlinks still inside the repository."""
    relative = safe_relative(name, where, what)
    path = (root / FILES / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.exists():
        raise ManifestError(f"{what} not found: no {FILES}/{relative}", location=where)
    return path


def expand_trees(root: Path, catalog: Catalog, relations: list[tuple[Resource, str, Any]]) -> None:
    """Add a child `file` for each entry of every directory source, right after its parent in declaration
    order, with the parent's owner, group, tags and relations; the parent's `mode` goes to child
    directories as it is and to child files without its execute bits, unless the source file has them."""
    declared = {resource.identity for resource in catalog.resources.values()}
    ordered: dict[str, Resource] = {}
    for rid, resource in catalog.resources.items():
        ordered[rid] = resource
        if not isinstance(resource, File) or resource.ensure != "directory" or resource.values.get("source") is None:
            continue
        refs = [(name, value) for owner, name, value in relations if owner is resource and name in RELATIONS]
        for child in _children(root, resource):
            if child.identity in declared:
                continue
            declared.add(child.identity)
            child.within, child.on_drop = resource.within, resource.on_drop  # a define's directory's child is its too
            ordered[child.id] = child
            catalog.warnings.extend(child.warnings())
            relations.extend((child, name, value) for name, value in refs)
    catalog.resources = ordered


def _children(root: Path, parent: File) -> list[File]:
    base = root / FILES / str(parent.values["source"])
    children = []
    for entry, relative in _walk(base):
        values: dict[str, Any] = {"path": posixpath.join(parent.path, relative)}
        values |= {k: parent.values[k] for k in ("owner", "group") if parent.values.get(k) is not None}
        st = os.lstat(entry)
        if stat.S_ISLNK(st.st_mode):
            values |= {"ensure": "link", "target": os.readlink(entry)}
        elif stat.S_ISDIR(st.st_mode):
            values |= {"ensure": "directory"} | ({"mode": parent.values["mode"]} if parent.values.get("mode") else {})
        elif stat.S_ISREG(st.st_mode):
            mode = _file_mode(parent.values.get("mode"), st.st_mode)
            values |= {"ensure": "file", "content": entry.read_bytes(), "mode": mode}
        else:
            raise ManifestError(
                f"{FILES}/{parent.values['source']}/{relative} is not a file, a directory or a link",
                location=parent.where("source"), subject=parent.id,
            )  # fmt: skip
        child = File(
            title=values["path"], values=values, location=parent.location, class_name=parent.class_name,
            tags=parent.tags, attribute_lines={name: parent.where("source").line or 0 for name in values},
        )  # fmt: skip
        child.check_attributes()
        child.validate()
        children.append(child)
    return children


def _file_mode(given: str | None, source_mode: int) -> str:
    """A child file's mode: the directory's `mode` (else 0644) without execute bits, unless the source file has them."""
    executable = bool(source_mode & 0o111)
    if given is None:
        return "0755" if executable else "0644"
    bits = int(given, 8) & 0o777
    return f"{bits if executable else bits & ~0o111:04o}"


def _walk(base: Path) -> list[tuple[Path, str]]:
    """Every entry under `base`, parents first, sorted; links are entries, never followed."""
    found: list[tuple[Path, str]] = []
    pending = [(base, "")]
    while pending:
        folder, prefix = pending.pop(0)
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            relative = f"{prefix}{entry.name}"
            found.append((entry, relative))
            if entry.is_dir() and not entry.is_symlink():
                pending.append((entry, relative + "/"))
    return found
