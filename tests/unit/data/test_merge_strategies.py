"""Merge strategies as pure functions: table-driven cases, highest priority first."""

from __future__ import annotations

import re

import pytest

from agent.data.merge_strategies import MergeOptions, Strategy, deep_merge, merge_found
from agent.errors import MergeError

DEEP = MergeOptions(Strategy.DEEP)
KO = MergeOptions(Strategy.DEEP, knockout_prefix="--")

CASES = [
    ("first takes the highest", "first", [1, 2], 1),
    ("first keeps null", "first", [None, 2], None),
    ("unique flattens, highest first", "unique", [["z", ["x"]], ["x", "y"]], ["z", "x", "y"]),
    ("unique promotes scalars", "unique", ["a", ["b", "a"]], ["a", "b"]),
    ("unique single scalar is a list", "unique", ["a"], ["a"]),
    ("unique keeps 1, 1.0 and true apart", "unique", [[1, 1.0, True], [True, 1, "1"]], [1, 1.0, True, "1"]),
    ("hash is shallow", "hash", [{"a": {"x": 1}}, {"a": {"y": 2}, "b": 3}], {"a": {"x": 1}, "b": 3}),
    ("deep merges nested hashes", "deep", [{"a": {"x": 1}}, {"a": {"y": 2}}], {"a": {"y": 2, "x": 1}}),
    ("deep puts lower array elements first", "deep", [{"a": [3, 1]}, {"a": [1, 2]}], {"a": [1, 2, 3]}),
    ("deep: higher scalar wins", "deep", [{"a": 1}, {"a": 2}], {"a": 1}),
    ("deep: higher null does not overwrite", "deep", [{"a": None}, {"a": 2}], {"a": 2}),
]


@pytest.mark.parametrize(("strategy", "values", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_merge(strategy: str, values: list, expected: object) -> None:
    result = merge_found(values, MergeOptions.parse(strategy))
    assert result == expected
    assert repr(result) == repr(expected)  # types and order, not just equality


def test_hash_merge_key_order_is_lower_first_as_in_ruby() -> None:
    result = merge_found([{"b": 1, "c": 1}, {"a": 2, "b": 2}], MergeOptions(Strategy.HASH))
    assert list(result) == ["a", "b", "c"]
    assert result == {"a": 2, "b": 1, "c": 1}


def test_hash_merge_refuses_non_hash() -> None:
    with pytest.raises(MergeError, match="expects a Hash value, got Array"):
        merge_found([{"a": 1}, [1]], MergeOptions(Strategy.HASH))


def test_merge_does_not_change_its_inputs() -> None:
    high, low = {"a": {"x": [1]}}, {"a": {"x": [2], "y": 1}}
    merge_found([high, low], DEEP)
    assert high == {"a": {"x": [1]}} and low == {"a": {"x": [2], "y": 1}}


KNOCKOUT = [
    ("array element knocked out", {"a": ["--x", "z"]}, {"a": ["x", "y"]}, {"a": ["y", "z"]}),
    ("naked prefix clears the array", {"a": ["--", "z"]}, {"a": ["x", "y"]}, {"a": ["z"]}),
    ("prefixed scalar empties the value", {"a": "--"}, {"a": [1, 2]}, {"a": ""}),
]


@pytest.mark.parametrize(("high", "low", "expected"), [k[1:] for k in KNOCKOUT], ids=[k[0] for k in KNOCKOUT])
def test_knockout_prefix(high: dict, low: dict, expected: dict) -> None:
    assert deep_merge(high, low, KO) == expected


def test_sort_merged_arrays() -> None:
    options = MergeOptions(Strategy.DEEP, sort_merged_arrays=True)
    assert deep_merge({"a": ["c", "a"]}, {"a": ["b"]}, options) == {"a": ["a", "b", "c"]}


def test_merge_hash_arrays() -> None:
    options = MergeOptions(Strategy.DEEP, merge_hash_arrays=True)
    assert deep_merge({"a": [{"y": 1}]}, {"a": [{"z": 2}, {"w": 3}]}, options) == {"a": [{"z": 2, "y": 1}, {"w": 3}]}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("deeep", "Unknown merge strategy: 'deeep' (did you mean 'deep'?)"),
        ({"knockout_prefix": "--"}, "must contain the name of a strategy"),
        (
            {"strategy": "unique", "knockout_prefix": "--"},
            "unrecognized key 'knockout_prefix'",
        ),
        ({"strategy": "deep", "knockout_prefix": ""}, "knockout_prefix must be a non-empty string"),
        ({"strategy": "deep", "sort_merged_arrays": "yes"}, "must be true or false"),
    ],
)
def test_bad_merge_specs(spec: object, message: str) -> None:
    with pytest.raises(MergeError, match=re.escape(message)):
        MergeOptions.parse(spec)
