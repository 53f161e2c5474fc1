"""Lazy facts: a value is worked out when first read, once, and the layering and Hiera's scope keep them lazy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.data.scope import scope_of
from agent.facts import gather_facts
from agent.facts.lazy import LazyFacts, known, replaced, without
from agent.facts.node import pin_to_inventory

SYSTEM = {"hostname": "web1", "fqdn": "web1.example.com", "os": {"family": "Debian"}, "memory": {"total_mb": 512}}


def counted(values: dict[str, Any]) -> tuple[LazyFacts, list[str]]:
    """Lazy facts of `values` and the names read from them, in order."""
    reads: list[str] = []

    def reader(name: str) -> Callable[[], Any]:
        return lambda: reads.append(name) or values[name]

    return LazyFacts({name: reader(name) for name in values}), reads


def test_a_value_is_read_when_asked_for_and_once():
    facts, reads = counted(SYSTEM)
    assert list(facts) == list(SYSTEM) and len(facts) == 4 and "os" in facts and "nope" not in facts
    assert reads == []
    assert facts["os"] == {"family": "Debian"} and facts.get("os") == {"family": "Debian"}
    assert facts.get("nope") is None
    assert reads == ["os"]
    assert facts == SYSTEM and dict(facts) == SYSTEM


def test_a_fact_whose_value_is_none_is_read_once_too():
    facts, reads = counted({"virtual": None})
    assert facts["virtual"] is None and facts["virtual"] is None
    assert reads == ["virtual"]


def test_the_layers_read_nothing_they_are_not_asked_for_and_merge_as_dicts_do():
    local = {"role": "web", "os": {"name": "Debian"}}
    lazy, reads = counted(SYSTEM)
    facts = gather_facts(system=lazy, local=local, config={"facts": {"environment": "prod"}}, overrides={})
    assert reads == []
    assert facts["role"] == "web" and reads == []
    assert facts == gather_facts(system=SYSTEM, local=local, config={"facts": {"environment": "prod"}})
    assert isinstance(gather_facts(system=SYSTEM, local={}, config={}), dict)


def test_an_inventory_host_reads_no_fact_of_the_machine_it_replaces():
    lazy, reads = counted(SYSTEM)
    facts = gather_facts(system=lazy, local={}, config={}, inventory={"role": "db"}, host="db1")
    assert (facts["hostname"], facts["fqdn"], facts["role"]) == ("db1", "db1", "db")
    assert reads == []


def test_without_and_replaced_are_lazy_over_lazy_facts_and_plain_over_dicts():
    lazy, reads = counted(SYSTEM)
    assert list(without(lazy, ["fqdn"])) == ["hostname", "os", "memory"]
    assert replaced(lazy, {"hostname": "x"})["hostname"] == "x"
    assert reads == []
    assert replaced(SYSTEM, {"hostname": "x"}) == {**SYSTEM, "hostname": "x"}
    assert without(SYSTEM, ["os"]) == {k: v for k, v in SYSTEM.items() if k != "os"}
    pinned, _ = pin_to_inventory(lazy, {}, "web1")
    assert reads == ["fqdn"]  # the certname the host has (no certname fact: its fqdn)
    assert dict(pinned) == {**SYSTEM, "certname": "web1", "trusted_extensions": {}}


def test_hiera_scope_reads_only_the_node_variables_and_gives_the_same_values():
    lazy, reads = counted(SYSTEM)
    scope = scope_of(lazy)
    assert reads == ["fqdn"]  # certname_of: no certname, so the fqdn
    assert scope["facts"]["os"]["family"] == "Debian" and scope["clientcert"] == "web1.example.com"
    assert reads == ["fqdn", "os"]
    eager = scope_of(SYSTEM)
    assert dict(scope) == {**eager, "facts": scope["facts"]} and dict(scope["facts"]) == eager["facts"]


def test_known_values_read_as_given():
    assert LazyFacts(known({"a": 1}))["a"] == 1
