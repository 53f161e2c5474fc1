"""gather_facts: system, local, config, inventory under --host, then --fact, each overriding the last."""

import copy

import pytest

from agent.errors import ConfigError
from agent.facts.layers import gather_facts

SYSTEM = {
    "hostname": "laptop",
    "fqdn": "laptop.home.example",
    "domain": "home.example",
    "os": {"family": "Debian", "name": "Debian", "release": {"full": "12.5", "major": "12"}},
    "role": "system",
}


def test_system_facts_alone():
    assert gather_facts(system=SYSTEM, local={}, config={}) == SYSTEM


@pytest.mark.parametrize(
    ("layers", "role"),
    [
        ({"local": {"role": "local"}}, "local"),
        ({"local": {"role": "local"}, "config": {"facts": {"role": "config"}}}, "config"),
        ({"config": {"facts": {"role": "config"}}, "inventory": {"role": "inv"}, "host": "web1"}, "inv"),
        ({"inventory": {"role": "inv"}, "host": "web1", "overrides": {"role": "cli"}}, "cli"),
        ({"local": {"role": "local"}, "overrides": {"role": "cli"}}, "cli"),
    ],
)
def test_each_layer_overrides_the_one_before(layers, role):
    arguments = {"local": {}, "config": {}, **layers}
    assert gather_facts(system=SYSTEM, **arguments)["role"] == role


def test_nested_facts_merge_deeply():
    facts = gather_facts(system=SYSTEM, local={"os": {"family": "RedHat"}}, config={}, overrides={"os.x": 1})
    assert facts["os"] == {
        "family": "RedHat",
        "name": "Debian",
        "release": {"full": "12.5", "major": "12"},
    }
    assert facts["os.x"] == 1


def test_a_host_names_the_machine_and_clears_the_local_domain():
    facts = gather_facts(system=SYSTEM, local={}, config={}, inventory={"role": "web"}, host="web1")
    assert (facts["hostname"], facts["fqdn"], facts["domain"]) == ("web1", "web1", None)
    assert facts["role"] == "web"


def test_an_inventory_fqdn_is_kept_and_gives_the_domain():
    inventory = {"fqdn": "web1.prod.example", "hostname": "ignored"}
    facts = gather_facts(system=SYSTEM, local={}, config={}, inventory=inventory, host="web1")
    assert (facts["hostname"], facts["fqdn"], facts["domain"]) == (
        "web1",
        "web1.prod.example",
        "prod.example",
    )


def test_overrides_win_over_the_host_names():
    facts = gather_facts(system=SYSTEM, local={}, config={}, host="web1", overrides={"hostname": "other"})
    assert facts["hostname"] == "other"


def test_no_input_is_changed_and_the_result_shares_nothing():
    inputs = {
        "system": copy.deepcopy(SYSTEM),
        "local": {"os": {"family": "RedHat"}, "roles": ["a"]},
        "config": {"facts": {"os": {"name": "Rocky"}}},
        "inventory": {"os": {"release": {"major": "9"}}},
        "host": "web1",
        "overrides": {"os": {"codename": "x"}},
    }
    before = copy.deepcopy(inputs)
    facts = gather_facts(**inputs)
    facts["os"]["release"]["major"] = "changed"
    facts["roles"].append("b")
    assert inputs == before


def test_config_facts_must_be_a_mapping():
    with pytest.raises(ConfigError, match="'facts' in the agent config must be a mapping"):
        gather_facts(system=SYSTEM, local={}, config={"facts": ["role=web"]})


def test_a_config_without_facts_adds_none():
    assert gather_facts(system=SYSTEM, local={}, config={"facts": None, "interval": 30}) == SYSTEM
