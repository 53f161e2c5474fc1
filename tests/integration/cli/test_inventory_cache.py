"""`tend apply --host` with the inventory kept in the compile cache: an edit of keys/inventory.yaml between two
runs is seen at once (within the same second, at the same size), and a run with --no-cache or plan keeps none."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_tend
from tests.helpers import write_tree

REPO = {
    "hiera.yaml": "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n"
    "  - name: role\n    path: roles/%{facts.role}.yaml\n  - name: common\n    path: common.yaml\n",
    "data/common.yaml": "classes: [motd]\nmotd::text: plain\n",
    "data/roles/web.yaml": "motd::text: web\n",
    "data/roles/api.yaml": "motd::text: api\n",
    "manifests/motd.yaml": "parameters: {text: ''}\nresources:\n  - file: /etc/motd\n    content: '{{ text }}'\n",
    "keys/inventory.yaml": "hosts:\n  h1: {role: web}\nadmins: []\n",
}


def apply(tmp_path: Path, *extra: str) -> tuple[int, str]:
    argv = ["apply", "--repo", str(tmp_path / "repo"), "--root", str(tmp_path / "root")]
    done = run_tend([*argv, "--state-dir", str(tmp_path / "state"), "--host", "h1", *extra])
    return done.returncode, done.stderr


def test_an_inventory_edit_is_seen_by_the_next_run(tmp_path: Path):
    write_tree(tmp_path / "repo", REPO)
    (tmp_path / "root/etc").mkdir(parents=True)
    inventory = tmp_path / "repo/keys/inventory.yaml"
    assert apply(tmp_path)[0] == 0
    assert (tmp_path / "root/etc/motd").read_text() == "web"
    inventory.write_text("hosts:\n  h1: {role: api}\nadmins: []\n")
    assert apply(tmp_path)[0] == 0
    assert (tmp_path / "root/etc/motd").read_text() == "api"
    inventory.write_text("hosts:\n  h2: {role: api}\nadmins: []\n")
    code, stderr = apply(tmp_path)
    assert code == 1
    assert "keys/inventory.yaml: unknown host 'h1' (known: h2)" in stderr
    inventory.write_text("hosts:\n  h1: {role: web}\nadmins: []\n")  # the first text again: its entry serves
    assert apply(tmp_path)[0] == 0
    assert (tmp_path / "root/etc/motd").read_text() == "web"


def test_no_cache_and_plan_keep_no_inventory(tmp_path: Path):
    write_tree(tmp_path / "repo", REPO)
    (tmp_path / "root/etc").mkdir(parents=True)
    assert apply(tmp_path, "--no-cache")[0] == 0
    run_tend(["plan", "--repo", str(tmp_path / "repo"), "--root", str(tmp_path / "root"),
              "--state-dir", str(tmp_path / "state"), "--host", "h1"])  # fmt: skip
    assert not list((tmp_path / "state").glob("cache/*.tcc"))
