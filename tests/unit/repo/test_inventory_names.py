"""Inventory host names are names: they become paths (keys/hosts/<host>.asc, nodes/%{facts.hostname}.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.repo.inventory import load_inventory


def inventory(tmp_path: Path, name: str) -> Path:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/inventory.yaml").write_text(f"hosts:\n  web1: {{role: web}}\n  {json.dumps(name)}: {{}}\n")
    return tmp_path


@pytest.mark.parametrize("name", ["db1", "web-stg1", "Web1.Example.org", "db_2", "a", "x" * 63, "a.b.c"])
def test_names(tmp_path: Path, name: str) -> None:
    assert name in load_inventory(inventory(tmp_path, name)).hosts


@pytest.mark.parametrize(
    "name", ["../../etc", "a/b", ".hidden", "web1.", "-web", "web-", "a..b", "", "x" * 64, "web 1", "wëb", "a\nb"]
)
def test_not_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_inventory(inventory(tmp_path, name))
    assert str(raised.value).startswith(f"keys/inventory.yaml:3: host {name!r}: not a host name")
