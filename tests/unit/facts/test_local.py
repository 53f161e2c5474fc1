"""parse_facts: the YAML of a local facts file, and errors that name its file and line."""

import pytest

from agent.errors import FactsError
from agent.facts.local import parse_facts


def test_a_mapping_is_the_facts():
    assert parse_facts("role: web\nenvironment: prod\nports: [80, 443]\n", source="f.yaml") == {
        "role": "web",
        "environment": "prod",
        "ports": [80, 443],
    }


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_has_no_facts(text):
    assert parse_facts(text, source="f.yaml") == {}


def test_malformed_yaml_names_the_file_and_line():
    with pytest.raises(FactsError) as caught:
        parse_facts("role: web\nenvironment: [prod\nother: x\n", source="/etc/tend/facts.yaml")
    assert caught.value.location.file == "/etc/tend/facts.yaml"
    assert str(caught.value).startswith("/etc/tend/facts.yaml:3: Unable to parse YAML: ")


def test_a_bad_indentation_names_its_line():
    with pytest.raises(FactsError, match=r"^f\.yaml:3: Unable to parse YAML: "):
        parse_facts("a: 1\nb: 2\n  c: 3\n", source="f.yaml")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("web\n", "string"), ("3\n", "number")])
def test_a_top_level_that_is_not_a_mapping_names_the_file(text, kind):
    with pytest.raises(FactsError) as caught:
        parse_facts(text, source="facts.d/10-role.yaml")
    assert str(caught.value) == f"facts.d/10-role.yaml:1: facts must be a mapping of names to values, not a {kind}"
