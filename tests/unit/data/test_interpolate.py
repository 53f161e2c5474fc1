"""Interpolation of data values against a scope and other lookups."""

from __future__ import annotations

import pytest

from agent.data.dotted_keys import MISSING
from agent.data.encrypted import EncryptedValue
from agent.data.interpolate import Interpolator
from agent.errors import InterpolationError
from agent.location import Location

SCOPE = {"role": "web", "facts": {"role": "web", "os": {"family": "Debian"}}, "n": 1.0, "flag": True}
DATA = {
    "list": ["a", "b"],
    "str": "value",
    "self": "%{lookup('self')}",
    "sec": EncryptedValue("ENC[GPG,x]", Location("f")),
}


def interpolator() -> Interpolator:
    it: Interpolator

    def lookup(key: str) -> object:
        if key not in DATA:
            return MISSING
        return it.interpolate(DATA[key])

    it = Interpolator(SCOPE, lookup)
    return it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%{facts.role}", "web"),
        ("%{role}-%{::role}", "web-web"),
        ("%{ facts.os.family }", "Debian"),
        ("%{facts.nope}", ""),
        ("a%{}b%{::}c", "abc"),
        ("%{lookup('str')}/%{hiera(\"str\")}", "value/value"),
        ("%{lookup('missing')}", ""),
        ("%{alias('list')}", ["a", "b"]),
        ("%{literal('%')}{role}", "%{role}"),
        ("%{scope('role')}", "web"),
        ("%{n} %{flag}", "1.0 true"),
    ],
)
def test_interpolation(text: str, expected: object) -> None:
    assert interpolator().interpolate(text) == expected


def test_hash_keys_are_interpolated() -> None:
    assert interpolator().interpolate({"%{role}.conf": ["%{role}"]}) == {"web.conf": ["web"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "x%{alias('list')}",
            "'alias' interpolation is only permitted if the expression is equal to the entire string",
        ),
        ("%{what('x')}", "Unknown interpolation method 'what'"),
        ("%{nosuchvar}", "Unknown variable: 'nosuchvar'"),
        ("%{lookup('self')}", "Recursive lookup detected in [self]"),
        ("%{lookup(x)}", "Unknown variable: 'lookup(x)'"),
        ("%{lookup('x\")}", "Syntax error in string: %{lookup('x\")}"),
        ("%{lookup('sec')}", "encrypted value"),
    ],
)
def test_interpolation_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as raised:
        interpolator().interpolate(text)
    assert message in str(raised.value)


def test_alias_keeps_an_encrypted_value_opaque() -> None:
    assert isinstance(interpolator().interpolate("%{alias('sec')}"), EncryptedValue)


def test_paths_allow_no_methods_and_missing_variables_are_empty() -> None:
    paths = Interpolator(SCOPE, None, strict=False)
    assert paths.interpolate("nodes/%{facts.hostname}.yaml") == "nodes/.yaml"
    assert paths.interpolate("x/%{nosuch}.yaml") == "x/.yaml"
    with pytest.raises(InterpolationError, match="method syntax is not allowed"):
        paths.interpolate("%{lookup('a')}")
