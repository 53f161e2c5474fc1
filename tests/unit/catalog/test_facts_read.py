"""A compile reads only the facts it names (hiera paths and interpolation, conditions, templates, defines), and
the facts it read are what a cached compile is checked against."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.catalog.compile import Compiler
from agent.catalog.tracking import ReadFacts, snapshot
from agent.data.scope import scope_of
from tests.helpers import write_tree

HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: node
    path: nodes/%{facts.hostname}.yaml
  - name: role
    path: roles/%{role}.yaml
  - name: common
    path: common.yaml
"""
FACTS = {
    "hostname": "web1",
    "role": "web",
    "os": {"family": "Debian", "release": {"major": "12"}},
    "memory": {"free_mb": 517},
    "uptime_s": 12345,
    "kernel": "Linux",
}


def repo(tmp_path: Path, manifest: str, data: str = "", template: str = "") -> Path:
    write_tree(
        tmp_path,
        {
            "hiera.yaml": HIERA,
            "data/common.yaml": "classes: [site]\n" + data,
            "data/roles/web.yaml": "site::motd: 'on %{facts.os.family}'\n",
            "manifests/site.yaml": manifest,
            "templates/t.j2": template or "none\n",
        },
    )
    return tmp_path


def compiled_reads(root: Path, facts: dict = FACTS) -> dict[str, bytes | None]:
    tracked = ReadFacts(facts)
    Compiler(root).compile(tracked, "web1")
    read = tracked.read()
    assert not read.whole and read.plain
    return dict(read.values)


MANIFEST = """\
parameters:
  motd: ""
resources:
  - file: /etc/motd
    content: "{{ motd }}"
  - file: /etc/kernel
    content: "{{ facts.kernel }}"
    when: "{{ 'kernel' in facts }}"
  - file: /etc/t
    template: t.j2
"""


def test_hiera_paths_interpolation_conditions_and_templates_read_just_the_facts_they_name(tmp_path: Path) -> None:
    reads = compiled_reads(repo(tmp_path, MANIFEST, template="{{ facts.get('nope', 'x') }}\n"))
    assert set(reads) == {"hostname", "role", "os", "kernel", "nope", "certname", "fqdn", "environment",
                          "trusted_extensions"}  # fmt: skip
    assert reads["nope"] is None and reads["certname"] is None  # absent, and so recorded
    assert reads["os"] == snapshot(FACTS["os"])
    assert "memory" not in reads and "uptime_s" not in reads


def test_a_template_that_iterates_the_facts_reads_them_all(tmp_path: Path) -> None:
    tracked = ReadFacts(FACTS)
    root = repo(tmp_path, MANIFEST, template="{% for k in facts %}{{ k }}\n{% endfor %}")
    Compiler(root).compile(tracked, "web1")
    read = tracked.read()
    assert read.whole and {name for name, _ in read.values} >= set(FACTS)
    assert read.matches(FACTS)
    assert not read.matches({**FACTS, "new_fact": 1}), "a fact that appears changes what the loop gives"


def test_tojson_and_a_native_expression_give_the_facts_as_a_dict(tmp_path: Path) -> None:
    manifest = MANIFEST + '  - file: /etc/facts.json\n    content: "{{ facts | tojson }}"\n'
    catalog, _ = Compiler(repo(tmp_path, manifest)).compile(ReadFacts(FACTS), "web1")
    assert '"hostname": "web1"' in catalog.resources["file:/etc/facts.json"].values["content"]


def test_matching_tells_apart_what_equality_does_not() -> None:
    tracked = ReadFacts({"count": 1, "gone": "x"})
    assert tracked["count"] == 1 and tracked.get("absent") is None and "gone" in tracked
    read = tracked.read()
    assert read.matches({"count": 1, "gone": "x", "other": 2})
    assert not read.matches({"count": True, "gone": "x"})
    assert not read.matches({"count": 1.0, "gone": "x"})
    assert not read.matches({"count": 1})
    assert not read.matches({"count": 1, "gone": "x", "absent": None})


def test_a_fact_that_is_not_plain_data_makes_the_compile_unkeepable() -> None:
    tracked = ReadFacts({"odd": object()})
    tracked["odd"]
    assert not tracked.read().plain


@pytest.mark.parametrize("name", ["hostname", "clientcert", "facts", "trusted", "environment"])
def test_the_scope_reads_a_fact_only_when_a_variable_names_it(name: str) -> None:
    tracked = ReadFacts({**FACTS, "environment": "prod"})
    scope = scope_of(tracked)
    before = {n for n, _ in tracked.read().values}
    scope[name]
    assert "memory" not in {n for n, _ in tracked.read().values}
    assert before <= {"certname", "fqdn", "hostname", "trusted_extensions", "environment"}
    assert dict(scope)["facts"]["clientcert"] == "web1"
