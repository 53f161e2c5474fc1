"""Start-up imports only what the command needs (DESIGN §8.18): `tend --version` and an empty catalog's apply load
none of gnupg, schedule and watchdog, and `--version` nothing of tend's beyond its entry point; a run loads only
its own command, the resource types its catalog uses and their providers, and no fact it does not read.

The modules are read from Python's own import log (PYTHONPROFILEIMPORTTIME, the `-X importtime` switch), in a
real `python -m agent` process; nothing is timed.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import run_tend
from tests.helpers import write_tree

LAZY = {"gnupg", "schedule", "watchdog"}
# What an empty catalog does not use: the other resource types and their providers, the other commands, and the
# facts nothing reads (psutil's, systemd-detect-virt's, the resolver's).
UNUSED_BY_EMPTY = {
    *(f"agent.resources.{name}" for name in ("package", "apt_source", "service", "user", "group", "sysctl", "exec")),
    *(f"agent.providers.{name}" for name in ("apt", "apt_sources", "systemd", "base_service", "useradd", "sysctld")),
    *(f"agent.cli.{name}" for name in ("pull", "check", "facts", "keys", "secrets", "audit", "promote", "fleet")),
    "agent.data.explain", "agent.runner.checks", "psutil", "socket", "platform",
}  # fmt: skip
# What an empty catalog whose compile is cached does not read: YAML (the inventory is kept in the cache), the
# compile, the pipeline's model (there is no pipeline.yaml), the other commands' options, metrics (none configured)
# and the file type (no file in the catalog).
NOT_ON_A_HIT = {
    "yaml", "agent.formats.reader", "agent.formats.compose", "agent.formats.document", "agent.catalog.compile",
    "agent.data.hiera", "agent.manifest.model", "agent.pipeline.model", "agent.cli.lookup", "agent.reports.metrics",
    "agent.resources.file",
}  # fmt: skip
# What `--version` must not pay for: the command modules' dependencies, and argparse itself.
NOT_FOR_VERSION = {"argparse", "yaml", "jinja2", "psutil", "json", "typing", "urllib.request", "subprocess"}
EMPTY_REPO = {
    "hiera.yaml": "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n"
    "  - name: common\n    path: common.yaml\n",
    "data/common.yaml": "greeting: hello\n",
    "keys/inventory.yaml": "hosts:\n  quiet1: {role: none}\nadmins: []\n",
}
LINE_CLASS = "resources:\n  - line: b\n    path: /etc/app.conf\n"


def imported(stderr: str) -> set[str]:
    """The modules named in an import-time log (`import time: self | cumulative | name`)."""
    return {
        line.split("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2 and "self [us]" not in line
    }


def test_version_imports_nothing_but_its_entry_point():
    done = run_tend(["--version"], env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("tend ")
    modules = imported(done.stderr)
    assert "agent.cli.main" in modules  # the log is read
    assert not modules & (LAZY | NOT_FOR_VERSION)
    assert {m for m in modules if m.startswith("agent")} == {"agent", "agent.cli", "agent.cli.main"}


def test_an_empty_catalog_apply_loads_neither_gnupg_nor_schedule_nor_watchdog(tmp_path: Path):
    repo, root = tmp_path / "repo", tmp_path / "root"
    write_tree(repo, EMPTY_REPO)
    root.mkdir()
    argv = ["apply", "--repo", str(repo), "--root", str(root), "--state-dir", str(tmp_path / "state")]
    done = run_tend([*argv, "--host", "quiet1", "--detailed-exitcodes"], env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    modules = imported(done.stderr)
    assert "agent.run.converge" in modules  # it did converge
    assert not modules & LAZY
    # Neither the thread pool of parallel decryption nor urllib (URL sources) is paid for without a use.
    assert not modules & {"concurrent.futures", "urllib.request", "jinja2"}
    assert not modules & UNUSED_BY_EMPTY


def test_an_empty_catalog_on_a_cache_hit_imports_no_yaml(tmp_path: Path):
    repo, root = tmp_path / "repo", tmp_path / "root"
    write_tree(repo, EMPTY_REPO)
    root.mkdir()
    time.sleep(2.1)  # past the two seconds within which the cache names a file by its content too
    argv = ["apply", "--repo", str(repo), "--root", str(root), "--state-dir", str(tmp_path / "state")]
    first = run_tend([*argv, "--host", "quiet1"], env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert first.returncode == 0, first.stderr
    assert NOT_ON_A_HIT & imported(first.stderr) >= {"yaml", "agent.catalog.compile"}  # the first run compiled
    again = run_tend([*argv, "--host", "quiet1"], env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0, again.stderr
    modules = imported(again.stderr)
    assert "agent.run.converge" in modules
    assert not modules & NOT_ON_A_HIT, sorted(modules & NOT_ON_A_HIT)
    assert not modules & UNUSED_BY_EMPTY


def test_a_catalog_loads_the_types_it_uses_and_their_providers(tmp_path: Path):
    repo, root = tmp_path / "repo", tmp_path / "root"
    write_tree(repo, {**EMPTY_REPO, "data/common.yaml": "classes: [app]\n", "manifests/app.yaml": LINE_CLASS})
    (root / "etc").mkdir(parents=True)
    (root / "etc/app.conf").write_text("a\n")
    argv = ["apply", "--repo", str(repo), "--root", str(root), "--state-dir", str(tmp_path / "state")]
    done = run_tend([*argv, "--host", "quiet1", "--detailed-exitcodes"], env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 2, done.stderr
    assert (root / "etc/app.conf").read_text() == "a\nb\n"
    modules = imported(done.stderr)
    assert {"agent.resources.line", "agent.providers.edit_buffer"} <= modules
    assert not modules & (UNUSED_BY_EMPTY - {"agent.cli.apply"})
