"""hiera.yaml validation: every error names the file, the line and the hierarchy entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.data.config import load_hiera_config
from agent.errors import ConfigError

GOOD = """\
version: 5
defaults: {datadir: hieradata, data_hash: yaml_data}
hierarchy:
  - name: Per node
    path: nodes/%{facts.hostname}.yaml
  - name: Secrets
    lookup_key: eyaml_lookup_key
    paths: [a.yaml, b.yaml]
    datadir: other
  - name: Mapped
    mapped_paths: [facts.services, svc, "services/%{svc}.yaml"]
  - name: Globbed
    glob: "conf.d/*.yaml"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "hiera.yaml").write_text(text)
    return tmp_path


def test_levels(tmp_path: Path) -> None:
    config = load_hiera_config(write(tmp_path, GOOD))
    assert [(lv.name, lv.kind, lv.datadir, lv.location.line) for lv in config.levels] == [
        ("Per node", "path", "hieradata", 4),
        ("Secrets", "paths", "other", 6),
        ("Mapped", "mapped_paths", "hieradata", 10),
        ("Globbed", "glob", "hieradata", 12),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version: 3\nhierarchy: []\n", 1, "does not support hiera.yaml version 3 (tend reads version 5)"),
        (
            "version: 5\nhierarchy:\n  - name: Per node\n    path: a.yaml\n    paths: [b.yaml]\n",
            3,
            "hierarchy entry 'Per node': give exactly one of path, paths, glob, globs, mapped_paths",
        ),
        (
            "version: 5\nhierarchy:\n  - name: X\n    pth: a.yaml\n",
            4,
            "entry 'hierarchy' index 0 unrecognized key 'pth' (did you mean 'path'?)",
        ),
        (
            "version: 5\ndefaults: {datadir: d, data_hsh: yaml_data}\nhierarchy: []\n",
            2,
            "defaults: unknown key 'data_hsh' (did you mean 'data_hash'?)",
        ),
        (
            "version: 5\nhierarchy:\n  - {name: A, path: a}\nhierarchy:\n  - {name: B, path: b}\n",
            4,
            "duplicate key 'hierarchy' (first defined on line 2)",
        ),
        ("version: 5\nhierarchy: &h\n  - name: A\n    paths: *h\n", 4, "an alias refers to its own anchor"),
        (
            "version: 5\nhierarchy:\n  - name: X\n    path: \"%{lookup('a')}.yaml\"\n",
            3,
            "Interpolation using method syntax is not allowed in this context",
        ),
        ("version: 5\nhierarchy:\n  - name: X\n    data_hash: hocon_data\n    path: a\n", 3, "not supported"),
        ("version: 5\nhierachy: []\n", 2, "unknown key 'hierachy' (did you mean 'hierarchy'?)"),
        ("version: 5\nhierarchy:\n  - name: X\n    path: [a\n", 5, "Unable to parse YAML"),
        (
            "version: 5\nhierarchy:\n  - {name: X, path: a}\n  - {name: X, path: b}\n",
            4,
            "Hierarchy name 'X' defined more than once",
        ),
    ],
)
def test_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_hiera_config(write(tmp_path, text))
    assert str(raised.value).startswith(f"hiera.yaml:{line}: ")
    assert message in str(raised.value)


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no hiera\.yaml"):
        load_hiera_config(tmp_path)
