"""A catalog as the compile cache stores it (plain data, through marshal) comes back equal, field by field,
locations included; a catalog holding a secret has no snapshot."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from agent.catalog.compile import Compiler
from agent.catalog.graph import Catalog
from agent.catalog.snapshot import from_plain, to_plain
from agent.secrets.secret import Secret
from tests.helpers import write_tree

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"
SITE = """\
parameters: {ports: [80, 443], limits: {1: one, two: 2}}
resources:
  - file: /srv/site
    ensure: directory
    source: site
    purge: true
  - file: /etc/app.conf
    content: "ports={{ ports }}\\n"
    mode: "0640"
    tags: [config]
    notify: service:app
  - line: UMASK 027
    path: /etc/login.defs
    match: ^UMASK
  - line: ENCRYPT_METHOD SHA512
    path: /etc/login.defs
  - file: "/etc/port-{{ item }}"
    loop: "{{ ports }}"
    content: "{{ limits[1] }} {{ item }}\n"
  - service: app
    ensure: running
  - app::worker: billing
    queue: bills
checks:
  - tcp: 127.0.0.1:80
"""
WORKER = """\
define:
  parameters: {queue: null}
resources:
  - file: "/etc/worker/{{ title }}.env"
    content: "QUEUE={{ queue }}\\n"
"""


def compiled(tmp_path: Path) -> Catalog:
    write_tree(
        tmp_path,
        {
            "hiera.yaml": HIERA,
            "data/c.yaml": "classes: [site]\ntend::remove_dropped: [file]\n",
            "manifests/site.yaml": SITE,
            "manifests/app/worker.yaml": WORKER,
            "files/site/index.html": b"<html>\x00\xff</html>",
            "files/site/sub/run.sh": "#!/bin/sh\n",
        },
    )
    (tmp_path / "files/site/sub/run.sh").chmod(0o755)
    catalog, _ = Compiler(tmp_path).compile({"hostname": "h"}, "h")
    return catalog


def test_a_catalog_comes_back_equal_through_marshal(tmp_path: Path) -> None:
    catalog = compiled(tmp_path)
    back = from_plain(marshal.loads(marshal.dumps(to_plain(catalog))))
    assert list(back.resources) == list(catalog.resources)
    for rid, resource in catalog.resources.items():
        assert type(back.resources[rid]) is type(resource)
        assert back.resources[rid] == resource, rid
        assert getattr(back.resources[rid], "__dict__", {}) == getattr(resource, "__dict__", {}), rid
        assert back.resources[rid].where("content") == resource.where("content")
    for name in ("host", "edges", "classes", "checks", "order", "warnings", "instances", "remove_dropped"):
        assert getattr(back, name) == getattr(catalog, name), name
    worker = back.resources["file:/etc/worker/billing.env"]
    assert worker.instance == "app::worker:billing" and str(worker.within[0][1]).startswith("manifests/site.yaml:")
    assert back.resources["line:ENCRYPT_METHOD SHA512"].previous == "line:UMASK 027"
    assert back.resources["file:/srv/site"].keep == catalog.resources["file:/srv/site"].keep


def test_a_catalog_holding_a_secret_cannot_be_stored(tmp_path: Path) -> None:
    catalog = compiled(tmp_path)
    catalog.resources["file:/etc/app.conf"].values["content"] = Secret("hunter2", key="k", file="f")
    with pytest.raises(ValueError):
        marshal.dumps(to_plain(catalog))
