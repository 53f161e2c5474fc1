"""Every file a lookup can read is seen by `tend secrets audit`, `rekey` and `rekey --check` (data_files)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from agent.data.hiera import Hiera
from agent.data.modules import module_of
from agent.fleet.recipients import data_files
from tests.conftest import PROJECT

HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: secure node
    lookup_key: eyaml_lookup_key
    path: "secure/nodes/%{trusted.certname}.eyaml"
  - name: secure roles
    lookup_key: eyaml_lookup_key
    paths: ["secure/%{facts.role}.eyaml", "secure/%{trusted.extensions.pp_role}.secrets"]
  - name: json
    data_hash: json_data
    path: "json/%{facts.environment}.json"
  - name: globbed
    glob: "conf.d/{%{facts.role},all}/*.conf"
  - name: mapped
    mapped_paths: [services, svc, "services/%{svc}.txt"]
  - name: other datadir
    datadir: extra
    path: "%{facts.environment}/data"
  - name: common
    path: common.yaml
"""
FILES = {
    "data/secure/nodes/web1.example.com.eyaml": "a: 1\n",
    "data/secure/web.eyaml": "a: 1\n",
    "data/secure/db.secrets": "a: 1\n",
    "data/json/prod.json": '{"a": 1}\n',
    "data/conf.d/web/x.conf": "a: 1\n",
    "data/conf.d/all/y.conf": "a: 1\n",
    "data/services/nginx.txt": "a: 1\n",
    "extra/prod/data": "a: 1\n",
    "data/common.yaml": "a: 1\n",
    "modules/ntp/hiera.yaml": "version: 5\nhierarchy:\n  - {name: os, path: 'os/%{facts.os.family}.eyaml'}\n",
    "modules/ntp/data/os/Debian.eyaml": "ntp::servers: [a]\n",
}
FACT_SETS = [
    {"hostname": "web1", "fqdn": "web1.example.com", "role": "web", "environment": "prod", "services": ["nginx"]},
    {"hostname": "db1", "role": "db", "environment": "stage", "trusted_extensions": {"pp_role": "db"}},
    {"hostname": "x", "environment": "dev", "os": {"family": "Debian"}, "services": "nginx"},
]


def read_by_lookups(hiera: Hiera, fact_sets: list[dict], keys: list[str]) -> set[str]:
    """The existing files the lookups of every fact set read, environment and module layers alike."""
    read: set[str] = set()
    for facts in fact_sets:
        context = hiera.context(facts)
        layers = [context.locations, *(context.module_locations(module_of(k)) for k in keys)]
        read.update(location.path for location, file in itertools.chain(*layers) if file is not None)
    return read


def test_every_file_a_lookup_reads_is_seen_by_the_audit(tmp_path: Path) -> None:
    (tmp_path / "hiera.yaml").write_text(HIERA)
    for relative, text in FILES.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    hiera = Hiera(tmp_path)
    read = read_by_lookups(hiera, FACT_SETS, ["a", "ntp::servers"])
    seen = set(data_files(tmp_path, hiera))
    assert read == {f for f in FILES if not f.endswith("hiera.yaml")}, "the fixture covers every kind of level"
    assert read <= seen, f"unseen by the audit: {sorted(read - seen)}"


@pytest.mark.parametrize("host", ["web1", "app-stg1", "db1"])
def test_the_example_site_has_no_file_unseen_by_the_audit(host: str) -> None:
    from agent.repo.inventory import load_inventory

    hiera = Hiera(PROJECT)
    facts = load_inventory(PROJECT).host_facts(host, {})
    assert read_by_lookups(hiera, [facts], ["classes"]) <= set(data_files(PROJECT, hiera))
