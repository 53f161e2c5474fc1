"""Who owns which path in a catalog: partial edits checked against whole files and chained per path, and
what each purged directory keeps (DESIGN §8.17)."""

from __future__ import annotations

from itertools import pairwise

from agent.catalog.graph import Catalog
from agent.resources.edits import Edit
from agent.resources.file import File
from agent.resources.file_tree import kept


def check_edits(catalog: Catalog) -> None:
    """Edits of a path a `file` wholly manages are an error naming both; the edits of one path apply in
    declaration order (each requires the one before), and all are sensitive when one of them is."""
    files = {r.path: r for r in catalog.resources.values() if isinstance(r, File)}
    by_path: dict[str, list[Edit]] = {}
    for resource in catalog.resources.values():
        if isinstance(resource, Edit):
            by_path.setdefault(resource.path, []).append(resource)
    for path, edits in by_path.items():
        whole = files.get(path)
        if whole is not None and whole.owns_content():
            raise edits[0].fail(
                f"edits {path}, whose whole content {whole.id} manages ({whole.location}): a partial edit "
                "would fight it; put the change in that file's content, or declare the file without content"
            )
        for before, after in pairwise(edits):
            after.previous = before.id
        if any(edit.sensitive for edit in edits):
            for edit in edits:
                edit.sensitive = True  # each one's plan diff would show the others' lines


def mark_purges(catalog: Catalog) -> None:
    """Give each purged directory the paths under it that the catalog owns, so that its purge keeps them."""
    purging = [r for r in catalog.resources.values() if isinstance(r, File) and r.values.get("purge")]
    if not purging:
        return
    owned: dict[str, bool] = {}
    for resource in catalog.resources.values():
        # A declared directory is looked inside, unless it purges itself.
        inside = isinstance(resource, File) and resource.ensure == "directory" and not resource.values.get("purge")
        for path in resource.owned_paths():
            owned[path] = owned.get(path, False) or inside
    for directory in purging:
        directory.keep = kept(directory.path, owned)
