"""What the state records of each declared resource: a record equal to the one already held is that very one."""

from __future__ import annotations

from agent.catalog.graph import Catalog
from agent.location import Location
from agent.resources.file import File
from agent.runner.dropped import records


def catalog(*paths: str) -> Catalog:
    built = Catalog("h")
    for path in paths:
        resource = File(title=path, values={"content": "x\n"}, location=Location("m.yaml", 1))
        resource.check_attributes()
        built.resources[resource.id] = resource
    built.sort()
    return built


def test_a_record_equal_to_the_one_held_is_kept_not_copied() -> None:
    held = records(catalog("/etc/a", "/etc/b"))
    again = records(catalog("/etc/a", "/etc/b", "/etc/c"), held)
    assert again == records(catalog("/etc/a", "/etc/b", "/etc/c"))
    assert again["file:/etc/a"] is held["file:/etc/a"] and again["file:/etc/b"] is held["file:/etc/b"]
    changed = {**held, "file:/etc/a": {**held["file:/etc/a"], "on_drop": "keep"}}
    assert records(catalog("/etc/a"), changed)["file:/etc/a"] == held["file:/etc/a"]
