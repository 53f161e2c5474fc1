"""overlay: a mapping into a mapping merges, anything else replaces, inputs stay unchanged."""

import copy

import pytest

from agent.facts.overlay import overlay


@pytest.mark.parametrize(
    ("base", "override", "expected"),
    [
        ({}, {}, {}),
        ({"a": 1}, {}, {"a": 1}),
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"b": 3}, {"a": 1, "b": 3}),
        (
            {"os": {"family": "Debian", "name": "Debian"}},
            {"os": {"family": "RedHat"}},
            {"os": {"family": "RedHat", "name": "Debian"}},
        ),
        ({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"d": 3}}}, {"a": {"b": {"c": 1, "d": 3}}}),
        ({"a": {"b": 1}}, {"a": 2}, {"a": 2}),
        ({"a": 2}, {"a": {"b": 1}}, {"a": {"b": 1}}),
        ({"roles": ["a", "b"]}, {"roles": ["c"]}, {"roles": ["c"]}),
        ({"a": {"b": 1}}, {"a": None}, {"a": None}),
        ({"a": None}, {"a": {"b": 1}}, {"a": {"b": 1}}),
    ],
)
def test_overlay(base, override, expected):
    assert overlay(base, override) == expected


def test_overlay_changes_neither_input_nor_shares_values_with_them():
    base = {"os": {"family": "Debian"}, "roles": ["a"]}
    override = {"os": {"name": "Ubuntu"}, "extra": {"list": [1]}}
    before = copy.deepcopy((base, override))
    merged = overlay(base, override)
    merged["os"]["family"] = "changed"
    merged["roles"].append("b")
    merged["extra"]["list"].append(2)
    assert (base, override) == before
