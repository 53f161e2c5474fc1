"""`tend diff`: every inventory host compiled at two revisions, compared, with a cache and parallel compiles."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_tend
from tests.integration.pipeline.conftest import Repo, site_files


def diff(repo: Repo, cache: Path, *args: str):
    return run_tend(["diff", *args, "--repo", str(repo.path), "--cache-dir", str(cache)])


def test_a_template_change_shows_per_host_as_a_unified_diff(repo, tmp_path):
    first = repo.commit("first", None, site_files())
    cache = tmp_path / "cache"
    nothing = diff(repo, cache)
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == "0 of 5 hosts change: 0 resources added, 0 removed, 0 changed\n"

    repo.write({"templates/motd.j2": "{{ text }} from {{ facts.environment }}\nmanaged by tend\n"})
    done = diff(repo, cache)
    assert done.returncode == 2, done.stderr
    assert "dev1: 0 added, 0 removed, 1 changed\n  ~ file:/etc/motd\n" in done.stdout
    assert "      --- file:/etc/motd content (HEAD)\n      +++ file:/etc/motd content (working tree)\n" in done.stdout
    assert "      +managed by tend\n" in done.stdout
    assert "5 of 5 hosts change: 0 resources added, 0 removed, 5 changed" in done.stdout

    second = repo.commit("second", None, {"manifests/motd.yaml": (
        "parameters: {text: ''}\nresources:\n  - file: /etc/motd\n    template: motd.j2\n    mode: '0600'\n"
        "  - file: /etc/issue\n    content: hi\n"
    )})  # fmt: skip
    done = diff(repo, cache, first, second, "--host", "prod1", "--host", "stg1", "--format", "json")
    assert done.returncode == 2, done.stderr
    result = json.loads(done.stdout)
    assert [h["host"] for h in result["hosts"]] == ["prod1", "stg1"]
    prod1 = result["hosts"][0]
    assert prod1["added"] == ["file:/etc/issue"] and prod1["removed"] == []
    [change] = prod1["changed"]
    assert change["id"] == "file:/etc/motd"
    assert {"property": "mode", "from": None, "to": "0600"} in change["changes"]
    assert {"property": "content"} in change["changes"] and "+managed by tend" in change["diff"]
    assert result["summary"] | {"errors": []} == {
        "hosts": 2, "changed_hosts": 2, "added": 2, "removed": 0, "changed": 2, "errors": []
    }  # fmt: skip
    assert list(cache.rglob("*.tcc")), "the compiles of commits are cached"
    again = diff(repo, cache, first, second, "--host", "prod1", "--host", "stg1", "--format", "json")
    assert json.loads(again.stdout) == result


def test_a_host_that_does_not_compile_is_an_error_naming_file_and_line(repo, tmp_path):
    repo.commit("first", None, site_files())
    repo.write({"manifests/motd.yaml": "resources:\n  - file: /etc/motd\n    contnet: x\n"})
    done = diff(repo, tmp_path / "cache", "--host", "dev1")
    assert done.returncode == 1
    assert "dev1 at working tree: manifests/motd.yaml:3: file:/etc/motd: unknown attribute 'contnet'" in done.stderr


def test_an_unknown_revision_or_host_is_refused(repo, tmp_path):
    repo.commit("first", None, site_files())
    assert "'nope' is not a revision" in diff(repo, tmp_path, "nope").stderr
    done = diff(repo, tmp_path, "--host", "dev2")
    assert done.returncode == 1 and "unknown host 'dev2'" in done.stderr and "dev1" in done.stderr
