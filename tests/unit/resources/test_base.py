"""The attribute declarations every type shares: checks, and the generic diff that knows about presence."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from agent.errors import ManifestError
from agent.location import Location
from agent.resources.base import Attr, Change, Resource
from tests.unit.fakes import declare


class Thing(Resource[None]):
    """A type made of declarations alone: the generic desired and changes serve it."""

    type_name: ClassVar[str] = "thing"
    attributes: ClassVar[dict[str, Attr]] = {
        "ensure": Attr((str,), default="present", choices=("present", "absent"), managed=True),
        "size": Attr((int,), managed=True, check=lambda v: None if v % 2 == 0 else f"size must be even, not {v}"),
        "secret": Attr((str,), managed=True, sensitive=True),
        "retries": Attr((int,), default=3),
    }


def diff(thing: Thing, current: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(c.property, c.old, c.new) for c in thing.changes(thing.desired(), current)]


def test_desired_holds_the_managed_attributes_only() -> None:
    assert declare(Thing, "t", size=2).desired() == {"ensure": "present", "size": 2, "secret": None}
    assert declare(Thing, "t", ensure="absent", size=2).desired() == {"ensure": "absent"}


def test_presence_comes_first_and_nothing_else_matters_while_absent() -> None:
    assert diff(declare(Thing, "t", size=2), {"ensure": "absent"}) == [("ensure", "absent", "present")]
    assert diff(declare(Thing, "t", ensure="absent"), {"ensure": "present", "size": 4}) == [
        ("ensure", "present", "absent")
    ]
    assert diff(declare(Thing, "t", ensure="absent", size=2), {"ensure": "absent"}) == []


def test_present_compares_what_is_managed_and_observed() -> None:
    thing = declare(Thing, "t", size=2)
    assert diff(thing, {"ensure": "present", "size": 4, "secret": "x"}) == [("size", 4, 2)]  # secret: not managed
    assert diff(thing, {"ensure": "present"}) == []  # size not observable here: left alone


def test_a_check_speaks_for_itself_at_the_attribute_line() -> None:
    thing = Thing(title="t", values={"size": 3}, location=Location("m.yaml", 2))
    thing.attribute_lines = {"size": 5}
    with pytest.raises(ManifestError) as raised:
        thing.check_attributes()
    assert str(raised.value) == "m.yaml:5: thing:t: size must be even, not 3"


def test_sensitive_attributes_are_hidden_only_when_the_resource_holds_a_secret() -> None:
    thing = declare(Thing, "t", secret="x")
    change = Change("secret", "a", "b")
    assert change.to_json(thing.hides("secret")) == {"property": "secret", "from": "a", "to": "b"}
    thing.sensitive = True
    assert change.to_json(thing.hides("secret")) == {"property": "secret"}
    assert not thing.hides("size") and not thing.hides("unknown")
