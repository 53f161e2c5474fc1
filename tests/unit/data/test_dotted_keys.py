"""Splitting dotted keys and digging sub-keys, as Hiera does."""

from __future__ import annotations

import pytest

from agent.data.dotted_keys import MISSING, dig, split_key
from agent.errors import DataError


@pytest.mark.parametrize(
    ("key", "segments"),
    [
        ("a", ("a",)),
        ("ns::key", ("ns::key",)),
        ("a.b", ("a", "b")),
        ("a.'b.c'", ("a", "b.c")),
        ('a."b.c".d', ("a", "b.c", "d")),
        ("list.1", ("list", 1)),
        ('"a.b"', ("a.b",)),
    ],
)
def test_split_key(key: str, segments: tuple) -> None:
    assert split_key(key) == segments


@pytest.mark.parametrize("key", ["a..b", ".a", "a.", "a.'b"])
def test_split_key_syntax_errors(key: str) -> None:
    with pytest.raises(DataError, match="Syntax error"):
        split_key(key)


def test_dig() -> None:
    value = {"h": {"k": [10, 20]}}
    assert dig(value, ("h", "k", 1), "x") == 20
    assert dig(value, ("h", "nope"), "x") is MISSING
    assert dig(value, ("h", "k", 5), "x") is MISSING
    with pytest.raises(DataError, match="Got Integer when a hash-like object was expected"):
        dig(value, ("h", "k", 0, "z"), "x")
