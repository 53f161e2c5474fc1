"""The implicit edges of the new types: a service needs its package and subscribes to its unit file, a user its
groups, a file its owner; each only when the other is declared."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agent.catalog.compile import Compiler
from agent.catalog.graph import Relation

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"


def compile_site(tmp_path: Path, manifest: str) -> tuple[list[str], set[tuple[str, str, str]]]:
    (tmp_path / "data").mkdir()
    (tmp_path / "manifests").mkdir()
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (tmp_path / "data/c.yaml").write_text("classes: [site]\n")
    (tmp_path / "manifests/site.yaml").write_text(textwrap.dedent(manifest))
    catalog, _ = Compiler(tmp_path).compile({"hostname": "h"})
    return catalog.order, {(e.source, e.target, str(e.relation)) for e in catalog.edges}


def test_service_after_its_package_and_unit_file(tmp_path: Path) -> None:
    order, edges = compile_site(
        tmp_path,
        """
        resources:
          - service: nginx
            ensure: running
          - file: /etc/systemd/system/nginx.service
            content: "[Service]\\n"
          - package: nginx
    """,
    )
    assert order == ["file:/etc/systemd/system/nginx.service", "package:nginx", "service:nginx"]
    assert edges == {
        ("package:nginx", "service:nginx", str(Relation.IMPLICIT)),
        ("file:/etc/systemd/system/nginx.service", "service:nginx", str(Relation.SUBSCRIBE)),
    }


def test_explicit_relations_are_not_doubled(tmp_path: Path) -> None:
    _, edges = compile_site(
        tmp_path,
        """
        resources:
          - file: /etc/systemd/system/app.service
            content: "[Service]\\n"
            notify: service:app
          - service: app
            enable: true
    """,
    )
    assert edges == {("file:/etc/systemd/system/app.service", "service:app", "notify")}


def test_file_needs_owner_and_user_needs_groups(tmp_path: Path) -> None:
    order, _ = compile_site(
        tmp_path,
        """
        resources:
          - file: /srv/x
            owner: app
            group: staff
          - user: app
            groups: [staff]
          - group: staff
    """,
    )
    assert order == ["group:staff", "user:app", "file:/srv/x"]


def test_nothing_implied_when_nothing_is_declared(tmp_path: Path) -> None:
    _, edges = compile_site(
        tmp_path,
        """
        resources:
          - service: cron
          - package: other
    """,
    )
    assert edges == set()
