"""Defines: parameters and defaults, required and unknown ones, references and ordering across instances,
loop/when on instances, nesting, and duplicates named with both instances."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.catalog.compile import Compiler
from agent.catalog.graph import Catalog
from agent.errors import ManifestError

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"

WORKER = """
define:
  parameters: {queue: null, concurrency: 2}
resources:
  - file: "/etc/worker/{{ title }}.env"
    content: "QUEUE={{ queue }}\\nCONCURRENCY={{ concurrency }}\\n"
    notify: "service:worker@{{ title }}"
  - service: "worker@{{ title }}"
    ensure: running
"""


def compile_site(tmp_path: Path, site: str, files: dict[str, str] | None = None, data: str = "") -> Catalog:
    for name, text in {
        "hiera.yaml": HIERA,
        "data/c.yaml": "classes: [site]\n" + data,
        "manifests/site.yaml": site,
        "manifests/app/worker.yaml": WORKER,
        **(files or {}),
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    catalog, _ = Compiler(tmp_path).compile({"hostname": "h"})
    return catalog


def edges(catalog: Catalog) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, str(e.relation)) for e in catalog.edges}


def test_parameters_defaults_title_and_instance(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path,
        "resources:\n  - app::worker: billing\n    queue: bills\n  - app::worker: mail\n    queue: mail\n"
        "    concurrency: 8\n",
    )
    billing = catalog.resources["file:/etc/worker/billing.env"]
    assert billing.values["content"] == "QUEUE=bills\nCONCURRENCY=2\n"
    assert catalog.resources["file:/etc/worker/mail.env"].values["content"] == "QUEUE=mail\nCONCURRENCY=8\n"
    assert billing.instance == "app::worker:billing"
    assert billing.class_name == "site" and "app::worker" in billing.tags
    assert catalog.instances["app::worker:mail"] == ["file:/etc/worker/mail.env", "service:worker@mail"]
    assert ("file:/etc/worker/billing.env", "service:worker@billing", "notify") in edges(catalog)


def test_parameters_are_never_looked_up_in_hiera(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path, "resources:\n  - app::worker: a\n    queue: q\n", data="app::worker::concurrency: 99\n"
    )
    assert catalog.resources["file:/etc/worker/a.env"].values["content"] == "QUEUE=q\nCONCURRENCY=2\n"


def test_a_required_parameter_missing_names_the_instance_line(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as error:
        compile_site(tmp_path, "resources:\n  - package: nginx\n  - app::worker: billing\n    concurrency: 3\n")
    assert str(error.value) == (
        "manifests/site.yaml:3: app::worker:billing: parameter 'queue' of define app::worker is required "
        "(its default is null)"
    )


def test_an_unknown_parameter_gets_a_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as error:
        compile_site(tmp_path, "resources:\n  - app::worker: billing\n    queue: q\n    concurency: 3\n")
    assert str(error.value) == (
        "manifests/site.yaml:4: app::worker:billing: unknown parameter 'concurency' of define app::worker "
        "(did you mean 'concurrency'?)"
    )


def test_references_and_ordering_across_instances(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path,
        """\
        resources:
          - app::worker: second
            queue: b
            require: "app::worker:first"
          - app::worker: first
            queue: a
          - exec: reload
            command: [/bin/true]
            refreshonly: true
            subscribe: "app::worker:second"
        """,
    )
    assert catalog.order == [
        "file:/etc/worker/first.env",
        "service:worker@first",
        "file:/etc/worker/second.env",
        "service:worker@second",
        "exec:reload",
    ]
    found = edges(catalog)
    for member in ("file:/etc/worker/second.env", "service:worker@second"):
        assert ("file:/etc/worker/first.env", member, "require") in found
        assert ("service:worker@first", member, "require") in found
        assert (member, "exec:reload", "subscribe") in found


def test_an_instance_reference_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as error:
        compile_site(tmp_path, "resources:\n  - app::worker: a\n    queue: q\n    require: app::worker:nope\n")
    assert str(error.value).startswith("manifests/site.yaml:4: app::worker:a: require: no resource app::worker:nope")


def test_loop_and_when_on_instances(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path,
        """\
        parameters:
          queues: [{name: a, enabled: true}, {name: b, enabled: false}, {name: c, enabled: true}]
        resources:
          - app::worker: "{{ item.name }}"
            loop: "{{ queues }}"
            when: "{{ item.enabled }}"
            queue: "q-{{ item.name }}"
        """,
    )
    assert sorted(catalog.instances) == ["app::worker:a", "app::worker:c"]
    assert catalog.resources["file:/etc/worker/c.env"].values["content"].startswith("QUEUE=q-c\n")


def test_nested_defines(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path,
        "resources:\n  - app::pool: main\n    size: 2\n  - exec: after\n    command: [/bin/true]\n"
        "    require: app::pool:main\n",
        files={
            "manifests/app/pool.yaml": """\
                define:
                  parameters: {size: 1}
                resources:
                  - file: "/etc/pool/{{ title }}"
                    content: "{{ size }}\\n"
                  - app::worker: "{{ title }}-{{ item }}"
                    loop: "{{ range(size) | list }}"
                    queue: "{{ title }}"
                """,
        },
    )
    worker = catalog.resources["file:/etc/worker/main-1.env"]
    assert worker.instance == "app::worker:main-1"
    assert [name for name, _ in worker.within] == ["app::pool:main", "app::worker:main-1"]
    assert len(catalog.instances["app::pool:main"]) == 5
    assert catalog.order[-1] == "exec:after"
    assert ("service:worker@main-0", "exec:after", "require") in edges(catalog)


def test_a_define_that_instantiates_itself_is_named(tmp_path: Path) -> None:
    loop = "define: {}\nresources:\n  - app::loop: again\n"
    with pytest.raises(ManifestError, match=r"define instantiates itself: app::loop -> app::loop"):
        compile_site(tmp_path, "resources:\n  - app::loop: x\n", files={"manifests/app/loop.yaml": loop})


def test_two_instances_declaring_one_resource_name_both_lines(tmp_path: Path) -> None:
    shared = 'define:\n  parameters: {}\nresources:\n  - file: /etc/shared.conf\n    content: "x\\n"\n'
    with pytest.raises(ManifestError) as error:
        compile_site(
            tmp_path,
            "resources:\n  - app::shared: one\n  - package: nginx\n  - app::shared: two\n",
            files={"manifests/app/shared.yaml": shared},
        )
    message = str(error.value)
    assert message.startswith("manifests/site.yaml:4: file:/etc/shared.conf: declared twice")
    assert "in app::shared:two (manifests/site.yaml:4)" in message
    assert "in app::shared:one (manifests/site.yaml:2)" in message


def test_a_define_is_no_class_and_a_class_no_define(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="'app::worker' is a define: declare it as a resource"):
        compile_site(tmp_path, "include: [app::worker]\n")
    with pytest.raises(ManifestError, match=r"manifests/site.yaml:2: 'other' is a class, not a define"):
        compile_site(tmp_path, "resources:\n  - other: x\n", files={"manifests/other.yaml": "resources: []\n"})


def test_an_error_inside_a_define_names_the_instance(tmp_path: Path) -> None:
    broken = "define: {}\nresources:\n  - file: /etc/b\n    mode: wrong\n"
    with pytest.raises(ManifestError) as error:
        compile_site(tmp_path, "resources:\n  - app::broken: one\n", files={"manifests/app/broken.yaml": broken})
    assert str(error.value).startswith("manifests/app/broken.yaml:4: file:/etc/b: ")
    assert str(error.value).endswith("(in app::broken:one, declared at manifests/site.yaml:2)")


def test_on_drop_and_tags_of_an_instance_reach_its_resources(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path, "resources:\n  - app::worker: a\n    queue: q\n    on_drop: keep\n    tags: [workers]\n"
    )
    resource = catalog.resources["service:worker@a"]
    assert resource.on_drop == "keep" and "workers" in resource.tags
