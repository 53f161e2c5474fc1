"""What the user and group types compare: desired against the passwd/group state, as flat dicts."""

from __future__ import annotations

from typing import Any

from agent.location import Location
from agent.resources.group import Group
from agent.resources.user import User


def user(**values: Any) -> User:
    resource = User(title="app", values=values, location=Location("manifests/site.yaml", 3))
    resource.check_attributes()
    resource.validate()
    return resource


PRESENT = {"ensure": "present", "uid": 3101, "gid": "app", "home": "/srv/app", "shell": "/bin/sh", "groups": ["logs"]}


def test_in_sync_user_has_no_changes() -> None:
    app = user(uid=3101, gid="app", groups=["logs"], shell="/bin/sh")
    assert app.changes(app.desired(), PRESENT) == []  # home is not managed: left alone


def test_only_the_differing_properties_change() -> None:
    app = user(uid=3101, gid="100", groups="staff", shell="/bin/bash")
    changes = app.changes(app.desired(), {**PRESENT, "gid": 3100})
    assert [(c.property, c.old, c.new) for c in changes] == [
        ("gid", 3100, 100), ("shell", "/bin/sh", "/bin/bash"), ("groups", ["logs"], ["staff"])
    ]  # fmt: skip


def test_missing_user_is_one_ensure_change() -> None:
    app = user(uid=3101)
    assert [(c.property, c.old, c.new) for c in app.changes(app.desired(), {"ensure": "absent"})] == [
        ("ensure", "absent", "present")
    ]
    gone = user(ensure="absent")
    assert [(c.property, c.new) for c in gone.changes(gone.desired(), PRESENT)] == [("ensure", "absent")]
    assert gone.changes(gone.desired(), {"ensure": "absent"}) == []


def test_group_gid() -> None:
    group = Group(title="logs", values={"gid": 3102}, location=Location("m.yaml", 1))
    group.check_attributes()
    assert [(c.property, c.old, c.new) for c in group.changes(group.desired(), {"ensure": "present", "gid": 1})] == [
        ("gid", 1, 3102)
    ]


def test_user_needs_its_groups() -> None:
    assert user(gid="app", groups=["logs", "adm"]).implicit_requires() == ["group:app", "group:logs", "group:adm"]
    assert user(gid=100).implicit_requires() == []
