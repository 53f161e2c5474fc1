"""parse_fact_overrides: `--fact KEY=VALUE` with YAML values and dotted keys."""

import pytest

from agent.errors import FactsError
from agent.facts.overrides import parse_fact_overrides


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("count=3", {"count": 3}),
        ("debug=true", {"debug": True}),
        ("name=web1", {"name": "web1"}),
        ("x=", {"x": ""}),
        ("x=  ", {"x": ""}),
        ("ratio=0.5", {"ratio": 0.5}),
        ("nothing=null", {"nothing": None}),
        ("quoted='3'", {"quoted": "3"}),
        ("url=http://example.com/a=b", {"url": "http://example.com/a=b"}),
        ("motd=hello world", {"motd": "hello world"}),
        ("roles=[a, b]", {"roles": ["a", "b"]}),
        ("limits={cpu: 2}", {"limits": {"cpu": 2}}),
        ("os.family=RedHat", {"os": {"family": "RedHat"}}),
        ("a.b.c=1", {"a": {"b": {"c": 1}}}),
    ],
)
def test_one_override(item, expected):
    assert parse_fact_overrides([item]) == expected


def test_no_overrides():
    assert parse_fact_overrides([]) == {}


def test_dotted_keys_merge_and_a_later_argument_wins():
    items = ["os.family=RedHat", "os.name=Rocky", "role=web", "role=db"]
    assert parse_fact_overrides(items) == {"os": {"family": "RedHat", "name": "Rocky"}, "role": "db"}


def test_a_later_nested_key_replaces_an_earlier_scalar():
    assert parse_fact_overrides(["a=1", "a.b=2"]) == {"a": {"b": 2}}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("role", "--fact 'role': expected KEY=VALUE, e.g. --fact role=web"),
        ("=web", "--fact '=web': the key must be a name or dotted names, e.g. os.family=Debian"),
        ("os.=x", "--fact 'os.=x': the key must be a name or dotted names, e.g. os.family=Debian"),
        ("a..b=x", "--fact 'a..b=x': the key must be a name or dotted names, e.g. os.family=Debian"),
    ],
)
def test_malformed_arguments_are_named(item, message):
    with pytest.raises(FactsError) as caught:
        parse_fact_overrides(["ok=1", item])
    assert str(caught.value) == message


def test_a_value_that_is_not_yaml_is_named_with_a_hint():
    with pytest.raises(FactsError, match=r"^--fact 'roles=\[a': the value is not valid YAML .*quote it"):
        parse_fact_overrides(["roles=[a"])
