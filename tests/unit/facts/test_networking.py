"""networking_facts from interface addresses as the reader hands them over."""

from agent.facts.networking import interface_facts, networking_facts

LO = [("ip", "127.0.0.1"), ("ip6", "::1"), ("mac", "00:00:00:00:00:00")]
ETH0 = [
    ("ip", "192.0.2.2"),
    ("ip6", "fe80::fc:ff:fe00:1%eth0"),
    ("ip6", "2001:db8::2"),
    ("mac", "02:FC:00:00:00:01"),
]
DOCKER0 = [("ip", "172.17.0.1"), ("mac", "02:42:ac:11:00:01")]


def test_interface_prefers_a_global_ipv6_address_and_lowercases_the_mac():
    assert interface_facts(ETH0) == {"ip": "192.0.2.2", "ip6": "2001:db8::2", "mac": "02:fc:00:00:00:01"}


def test_interface_with_only_a_link_local_ipv6_address_strips_its_scope():
    assert interface_facts([("ip6", "fe80::1%eth1")])["ip6"] == "fe80::1"


def test_loopback_has_no_mac_and_missing_addresses_are_none():
    assert interface_facts(LO)["mac"] is None
    assert interface_facts([]) == {"ip": None, "ip6": None, "mac": None}


def test_main_ip_is_the_first_non_loopback_ipv4_of_an_up_interface():
    facts = networking_facts({"lo": LO, "eth0": ETH0, "docker0": DOCKER0}, up={"lo", "eth0", "docker0"})
    assert facts["ip"] == "192.0.2.2"
    assert list(facts["interfaces"]) == ["docker0", "eth0", "lo"]


def test_main_ip_skips_interfaces_that_are_down():
    facts = networking_facts({"lo": LO, "eth0": ETH0, "docker0": DOCKER0}, up={"lo", "docker0"})
    assert facts["ip"] == "172.17.0.1"


def test_main_ip_is_none_with_only_loopback():
    assert networking_facts({"lo": LO}, up={"lo"})["ip"] is None
