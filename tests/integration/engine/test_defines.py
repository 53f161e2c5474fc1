"""A define applied: report ids are the concrete resources', each naming its instance; a dropped instance's
resources are reported as dropped."""

from __future__ import annotations

from tests.integration.engine.conftest import Site

CONF = (
    'define:\n  parameters: {text: null}\nresources:\n  - file: "/etc/{{ title }}.conf"\n    content: "{{ text }}\\n"\n'
)


def test_report_entries_name_their_instance(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [site]\n",
            "manifests/conf.yaml": CONF,
            "manifests/site.yaml": "resources:\n  - conf: one\n    text: a\n  - conf: two\n    text: b\n",
        }
    )
    run = site.apply()
    assert run.returncode == 2, run.stderr
    assert run.result("file:/etc/one.conf")["instance"] == "conf:one"
    assert site.path("/etc/two.conf").read_text() == "b\n"
    site.write({"manifests/site.yaml": "resources:\n  - conf: one\n    text: a\n"})
    assert site.apply().statuses == {"file:/etc/one.conf": "unchanged", "file:/etc/two.conf": "dropped"}
