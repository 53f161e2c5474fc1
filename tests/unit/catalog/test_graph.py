"""Ordering and cycles of the catalog graph."""

from __future__ import annotations

import pytest

from agent.catalog.graph import Catalog, Edge, Relation
from agent.errors import ManifestError
from tests.unit.fakes import fake


def catalog(*titles: str, edges: tuple[tuple[str, str, Relation], ...] = ()) -> Catalog:
    result = Catalog("h")
    for line, title in enumerate(titles, start=1):
        resource = fake(title, line=line)
        result.resources[resource.id] = resource
    result.edges = [Edge(f"fake:{a}", f"fake:{b}", rel) for a, b, rel in edges]
    return result


def test_declaration_order_without_edges() -> None:
    assert catalog("c", "a", "b").sort() == ["fake:c", "fake:a", "fake:b"]


def test_edges_win_and_ties_keep_declaration_order() -> None:
    order = catalog("a", "b", "c", "d", edges=(("d", "a", Relation.REQUIRE), ("c", "b", Relation.NOTIFY))).sort()
    assert order == ["fake:c", "fake:b", "fake:d", "fake:a"]


def test_cycle_names_every_resource_with_file_and_line() -> None:
    edges = (("a", "b", Relation.REQUIRE), ("b", "c", Relation.BEFORE), ("c", "a", Relation.NOTIFY))
    with pytest.raises(ManifestError) as raised:
        catalog("x", "a", "b", "c", edges=edges).sort()
    message = str(raised.value)
    assert "dependency cycle: " in message
    for title, line in (("a", 2), ("b", 3), ("c", 4)):
        assert f"fake:{title} (manifests/t.yaml:{line})" in message
    assert "fake:x" not in message


def test_cycle_found_behind_a_resource_that_only_depends_on_it() -> None:
    edges = (("a", "b", Relation.REQUIRE), ("b", "a", Relation.REQUIRE), ("b", "z", Relation.REQUIRE))
    with pytest.raises(ManifestError, match=r"fake:a .* -> fake:b .* -> fake:a"):
        catalog("z", "a", "b", edges=edges).sort()


def test_refresh_targets_only_follow_notify_and_subscribe() -> None:
    edges = (("a", "b", Relation.NOTIFY), ("c", "b", Relation.REQUIRE), ("b", "d", Relation.SUBSCRIBE))
    targets = catalog("a", "b", "c", "d", edges=edges).refresh_targets()
    assert dict(targets) == {"fake:a": ["fake:b"], "fake:b": ["fake:d"]}
