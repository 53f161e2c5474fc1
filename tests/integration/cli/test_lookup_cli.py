"""`tend lookup` and `tend facts` end to end through the command line, on the bundled example site."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PROJECT


def test_value_and_json(tend) -> None:
    result = tend(["lookup", "base::packages", "--host", "db1", "--json"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["postgresql-client", "curl", "rsync"]
    assert result.stderr == ""


def test_plain_string_value(tend) -> None:
    result = tend(["lookup", "app::db_host", "--host", "app-stg1"])
    assert (result.returncode, result.stdout) == (0, "db-stg1.example.org\n")


def test_sub_key_and_explicit_merge(tend) -> None:
    result = tend(["lookup", "base::sysctl.'vm.swappiness'", "--host", "db1", "--json"])
    assert json.loads(result.stdout) == 1
    result = tend(["lookup", "base::packages", "--host", "db1", "--merge", "first", "--json"])
    assert json.loads(result.stdout) == ["postgresql-client"]


def test_fact_overrides_place_the_host(tend) -> None:
    result = tend(["lookup", "classes", "--fact", "role=web", "--fact", "environment=prod", "--json"])
    assert json.loads(result.stdout) == ["nginx", "base"]


def test_not_found_exits_1(tend) -> None:
    result = tend(["lookup", "no::such::key", "--host", "web1"])
    assert result.returncode == 1
    assert result.stdout == ""
    assert "did not find a value for 'no::such::key'" in result.stderr


def test_explain_text(tend) -> None:
    result = tend(["lookup", "app::settings", "--host", "app-stg1", "--explain"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert 'Searching for "app::settings"' in out
    assert 'Merge strategy "deep" (lookup_options in hieradata/common.yaml:' in out
    assert 'Path "hieradata/nodes/app-stg1.yaml"' in out and "Path not found" in out
    assert 'Found key: "app::settings" (line 5)' in out
    assert "Merged result:" in out


def test_explain_json_and_not_found(tend) -> None:
    result = tend(["lookup", "nope", "--host", "web1", "--explain", "--json"])
    assert result.returncode == 1
    tree = json.loads(result.stdout)
    assert tree["found"] is False
    assert [level["name"] for level in tree["levels"]] == [
        "Per node",
        "Per role and environment",
        "Per environment",
        "Common",
    ]
    statuses = {p["path"]: p["status"] for level in tree["levels"] for p in level["paths"]}
    assert statuses["hieradata/common.yaml"] == "not found"
    assert statuses["hieradata/nodes/web1.yaml"] == "path not found"


def site(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


HIERA = "version: 5\ndefaults: {datadir: data}\nhierarchy:\n  - name: common\n    path: common.yaml\n"


def test_malformed_yaml_is_one_line_naming_file_and_line(tend, tmp_path: Path) -> None:
    repo = site(tmp_path, {"hiera.yaml": HIERA, "data/common.yaml": "a: 1\nb: [x\nc: 2\n"})
    result = tend(["lookup", "a", "--repo", str(repo)])
    assert result.returncode == 1
    assert result.stderr.startswith("tend: data/common.yaml:")
    assert "Unable to parse YAML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_hiera_yaml(tend, tmp_path: Path) -> None:
    bad = "version: 5\nhierarchy:\n  - name: Per node\n    path: a.yaml\n    glob: '*.yaml'\n"
    repo = site(tmp_path, {"hiera.yaml": bad})
    result = tend(["lookup", "a", "--repo", str(repo)])
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "tend: hiera.yaml:3: hierarchy entry 'Per node': give exactly one of path, paths, glob, globs, mapped_paths"
    )


def test_unknown_interpolation_method(tend, tmp_path: Path) -> None:
    repo = site(tmp_path, {"hiera.yaml": HIERA, "data/common.yaml": "x: 1\na: \"%{what('x')}\"\n"})
    result = tend(["lookup", "a", "--repo", str(repo)])
    assert result.returncode == 1
    assert result.stderr.strip() == "tend: data/common.yaml:2: key 'a': Unknown interpolation method 'what'"


def test_debug_shows_the_traceback(tend, tmp_path: Path) -> None:
    repo = site(tmp_path, {"hiera.yaml": HIERA, "data/common.yaml": 'a: "%{nosuchvar}"\n'})
    result = tend(["--debug", "lookup", "a", "--repo", str(repo)])
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "nosuchvar" in result.stderr


def test_unknown_host(tend) -> None:
    result = tend(["lookup", "classes", "--host", "wbe1"])
    assert result.returncode == 1
    assert "unknown host 'wbe1'" in result.stderr and "web1" in result.stderr


def test_facts_json_under_host(tend) -> None:
    result = tend(["facts", "--host", "db1", "--json", "--fact", "extra=3"])
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert (facts["hostname"], facts["role"], facts["environment"], facts["extra"]) == ("db1", "db", "prod", 3)
    assert facts["os"]["family"] and facts["processors"]["count"] >= 1


def test_repo_defaults_to_the_current_directory(tend) -> None:
    result = tend(["lookup", "site::domain"], cwd=PROJECT)
    assert (result.returncode, result.stdout) == (0, "example.org\n")
