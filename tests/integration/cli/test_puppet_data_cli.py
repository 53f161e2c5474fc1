"""`tend lookup` on Puppet data: the `--` knockout prefix, Sensitive values, node variables from the inventory."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from agent.cli.lookup import take_knockout

FILES = {
    "hiera.yaml": """\
        version: 5
        defaults: {datadir: data, data_hash: yaml_data}
        hierarchy:
          - name: node
            path: "nodes/%{clientcert}.yaml"
          - name: role
            path: "roles/%{trusted.extensions.pp_role}.yaml"
          - name: common
            path: common.yaml
        """,
    "data/nodes/web1.example.com.yaml": "list: ['--b', c]\nwho: 'node %{clientcert} in %{trusted.domain}'\n",
    "data/roles/web.yaml": "role: web\n",
    "data/common.yaml": """\
        lookup_options:
          db::password: {convert_to: Sensitive}
        list: [a, b]
        db::password: plain-but-sensitive
        """,
    "keys/inventory.yaml": """\
        hosts:
          web1: {fqdn: web1.example.com, trusted_extensions: {pp_role: web}}
        admins: []
        """,
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for relative, text in FILES.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(textwrap.dedent(text))
    return tmp_path


@pytest.mark.parametrize("given", [["--knock-out-prefix", "--"], ["--knock-out-prefix=--"]])
def test_the_knockout_prefix_can_be_dashes(tend, repo: Path, given: list[str]) -> None:
    done = tend(["lookup", "list", "--repo", str(repo), "--host", "web1", "--merge", "deep", *given, "--json"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["a", "c"]


def test_take_knockout_leaves_other_commands_and_a_missing_value_alone() -> None:
    assert take_knockout(["lookup", "k", "--knock-out-prefix", "--", "--json"]) == (["lookup", "k", "--json"], "--")
    assert take_knockout(["--debug", "lookup", "k", "--knock-out-prefix=xx"]) == (["--debug", "lookup", "k"], "xx")
    assert take_knockout(["lookup", "k", "--knock-out-prefix"]) == (["lookup", "k", "--knock-out-prefix"], None)
    assert take_knockout(["facts", "--knock-out-prefix", "--"])[1] is None


def test_node_variables_come_from_the_inventory(tend, repo: Path) -> None:
    done = tend(["lookup", "who", "--repo", str(repo), "--host", "web1"])
    assert (done.returncode, done.stdout) == (0, "node web1.example.com in example.com\n"), done.stderr
    done = tend(["lookup", "role", "--repo", str(repo), "--host", "web1"])
    assert (done.returncode, done.stdout) == (0, "web\n"), done.stderr


def test_a_sensitive_value_is_a_placeholder_unless_revealed(tend, repo: Path, tmp_path: Path) -> None:
    done = tend(["lookup", "db::password", "--repo", str(repo), "--host", "web1", "--explain"])
    assert done.returncode == 0, done.stderr
    assert "plain-but-sensitive" not in done.stdout + done.stderr
    assert "<sensitive: data/common.yaml:db::password>" in done.stdout
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    done = tend(["lookup", "db::password", "--repo", str(repo), "--reveal"], env={"GNUPGHOME": str(home)})
    assert (done.returncode, done.stdout) == (0, "plain-but-sensitive\n"), done.stderr
