"""Puppet's node variables: clientcert and trusted from the certname, the inventory's values pinned on a host."""

from pathlib import Path

import pytest

from agent.data.scope import scope_of
from agent.errors import ConfigError
from agent.facts.layers import gather_facts
from agent.facts.node import node_variables, pin_to_inventory
from agent.repo.inventory import load_inventory


@pytest.mark.parametrize(
    ("facts", "certname"),
    [
        ({"hostname": "web1"}, "web1"),
        ({"hostname": "web1", "fqdn": "web1.example.com"}, "web1.example.com"),
        ({"hostname": "web1", "fqdn": "web1.example.com", "certname": "w1.prod.example.com"}, "w1.prod.example.com"),
    ],
)
def test_the_certname_is_certname_else_fqdn_else_hostname(facts, certname):
    node = node_variables(facts)
    assert node["clientcert"] == node["trusted"]["certname"] == certname


def test_trusted_splits_the_certname_and_carries_the_extensions():
    trusted = node_variables({"certname": "web1.dc1.example.com", "trusted_extensions": {"pp_role": "web"}})["trusted"]
    assert (trusted["hostname"], trusted["domain"]) == ("web1", "dc1.example.com")
    assert trusted["extensions"] == {"pp_role": "web"}
    assert node_variables({"hostname": "web1"})["trusted"]["domain"] is None


def test_the_scope_has_clientcert_in_facts_and_environment_on_top():
    scope = scope_of({"hostname": "web1", "environment": "prod", "clientcert": "spoofed"})
    assert scope["clientcert"] == scope["facts"]["clientcert"] == "web1"
    assert scope["environment"] == "prod"
    assert "environment" not in scope_of({"hostname": "web1"})


def test_under_host_node_variables_come_from_the_inventory_alone():
    local = {"certname": "laptop.home", "trusted_extensions": {"pp_role": "laptop"}}
    facts = gather_facts(system={"hostname": "laptop"}, local=local, config={}, inventory={"role": "db"}, host="db1")
    assert "certname" not in facts and "trusted_extensions" not in facts
    assert node_variables(facts)["clientcert"] == "db1"
    given = {"certname": "db1.example.com", "trusted_extensions": {"pp_role": "db"}}
    facts = gather_facts(system={}, local=local, config={}, inventory=given, host="db1")
    assert node_variables(facts)["trusted"]["extensions"] == {"pp_role": "db"}


def test_a_host_whose_own_values_differ_takes_the_inventorys_and_warns():
    own = {"hostname": "web1", "fqdn": "web1.lan", "trusted_extensions": {"pp_role": "old"}}
    entry = {"fqdn": "web1.example.com", "trusted_extensions": {"pp_role": "web"}}
    facts, warnings = pin_to_inventory(own, entry, "web1")
    assert node_variables(facts)["clientcert"] == "web1.example.com"
    assert node_variables(facts)["trusted"]["extensions"] == {"pp_role": "web"}
    assert len(warnings) == 2
    assert "this host's certname 'web1.lan' differs from keys/inventory.yaml's 'web1.example.com'" in warnings[0]
    same = {"hostname": "web1", "fqdn": "web1.example.com", "trusted_extensions": {"pp_role": "web"}}
    assert pin_to_inventory(same, entry, "web1")[1] == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{certname: ''}", "host 'web1': certname must be a host name"),
        ("{trusted_extensions: [web]}", "host 'web1': trusted_extensions must be a hash"),
    ],
)
def test_the_inventory_checks_node_keys(tmp_path: Path, entry: str, message: str):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/inventory.yaml").write_text(f"hosts:\n  web1: {entry}\n")
    with pytest.raises(ConfigError) as raised:
        load_inventory(tmp_path)
    assert str(raised.value).startswith("keys/inventory.yaml:2: ")
    assert message in str(raised.value)
