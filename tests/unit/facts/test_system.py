"""The pure parts of the system facts: architecture names, host identity, resolv.conf."""

import pytest

from agent.facts.system import debian_architecture, identity_facts, resolv_conf_domain


@pytest.mark.parametrize(
    ("machine", "architecture"),
    [
        ("x86_64", "amd64"),
        ("aarch64", "arm64"),
        ("armv7l", "armhf"),
        ("i686", "i386"),
        ("ppc64le", "ppc64el"),
        ("riscv64", "riscv64"),
    ],
)
def test_debian_architecture(machine, architecture):
    assert debian_architecture(machine) == architecture


def resolver(names: dict[str, str]):
    return names.get


@pytest.mark.parametrize(
    ("hostname", "canonical", "resolv_conf", "expected"),
    [
        # A dotted host name is its own fqdn; the resolver is not asked.
        ("web1.example.com", {}, "", ("web1", "web1.example.com", "example.com")),
        ("web1", {"web1": "web1.example.net"}, "", ("web1", "web1.example.net", "example.net")),
        # A canonical name for another host (localhost in /etc/hosts) is ignored.
        ("web1", {"web1": "localhost"}, "", ("web1", "web1", None)),
        ("web1", {"web1": "localhost.localdomain"}, "search lan\n", ("web1", "web1.lan", "lan")),
        (
            "web1",
            {},
            "nameserver 10.0.0.1\ndomain corp.example.\n",
            ("web1", "web1.corp.example", "corp.example"),
        ),
        ("web1", {}, "nameserver 10.0.0.1\n", ("web1", "web1", None)),
    ],
)
def test_identity_facts(hostname, canonical, resolv_conf, expected):
    facts = identity_facts(hostname, resolver(canonical), resolv_conf)
    assert (facts["hostname"], facts["fqdn"], facts["domain"]) == expected


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("", None),
        ("nameserver 1.1.1.1\n", None),
        ("domain a.example\n", "a.example"),
        ("search b.example c.example\n", "b.example"),
        ("domain a.example\nsearch b.example\n", "b.example"),
        ("search b.example\ndomain a.example\n", "a.example"),
        ("search\n", None),
    ],
)
def test_resolv_conf_domain(text, domain):
    assert resolv_conf_domain(text) == domain
