"""inventory_facts: a host's facts from the inventory, and errors for unknown hosts."""

import pytest

from agent.errors import ConfigError
from agent.facts.inventory import inventory_facts

INVENTORY = {
    "hosts": {
        "web1": {"role": "web", "environment": "prod"},
        "web2": {"role": "web", "environment": "staging"},
        "db1": {"role": "db", "environment": "prod"},
        "bare": None,
    },
    "admins": ["alice"],
}
SOURCE = "keys/inventory.yaml"


def test_returns_the_host_facts_as_a_copy():
    facts = inventory_facts(INVENTORY, "web1", source=SOURCE)
    assert facts == {"role": "web", "environment": "prod"}
    facts["role"] = "changed"
    assert INVENTORY["hosts"]["web1"]["role"] == "web"


def test_a_host_without_facts_has_none():
    assert inventory_facts(INVENTORY, "bare", source=SOURCE) == {}


def test_an_unknown_host_lists_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        inventory_facts(INVENTORY, "mail7", source=SOURCE)
    assert str(caught.value) == "keys/inventory.yaml: unknown host 'mail7' (known: bare, db1, web1, web2)"


def test_an_unknown_host_close_to_a_known_one_suggests_it():
    with pytest.raises(ConfigError) as caught:
        inventory_facts(INVENTORY, "wbe1", source=SOURCE)
    assert str(caught.value) == (
        "keys/inventory.yaml: unknown host 'wbe1' (known: bare, db1, web1, web2); did you mean 'web1'?"
    )


def test_a_long_list_of_hosts_is_cut_short():
    inventory = {"hosts": {f"h{n:02}": {} for n in range(25)}}
    with pytest.raises(ConfigError, match=r"\(known: h00, h01, .*, h19 and 5 more\)"):
        inventory_facts(inventory, "zzz", source=SOURCE)


def test_an_inventory_without_hosts_says_so():
    with pytest.raises(ConfigError, match=r"^keys/inventory\.yaml: 'hosts' must be a mapping"):
        inventory_facts({"admins": []}, "web1", source=SOURCE)


def test_host_facts_that_are_not_a_mapping_are_named():
    with pytest.raises(ConfigError, match=r"^keys/inventory\.yaml: host 'web1': facts must be a mapping"):
        inventory_facts({"hosts": {"web1": ["web"]}}, "web1", source=SOURCE)
