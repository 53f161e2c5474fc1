"""The sysctl type through the CLI: persisted into a temporary root, and set live inside a network namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.helpers import HIERA, write_tree
from tests.integration.engine.conftest import Site

KEY = "net.ipv4.ip_forward"
PERSISTED = "/etc/sysctl.d/99-tend-net.ipv4.ip_forward.conf"


def manifest(site: Site, body: str) -> None:
    site.write({"data/common.yaml": "classes: [kernel]\n", "manifests/kernel.yaml": "resources:\n" + body})


def bucket_contents(site: Site) -> list[bytes]:
    return [p.read_bytes() for p in (site.state / "bucket").rglob("*") if p.is_file()]


def test_persisted_under_a_root_then_nothing_to_do(site: Site) -> None:
    manifest(site, f"  - sysctl: {KEY}\n    value: 1\n  - sysctl: vm.swappiness\n    value: '10'\n")
    first = site.apply()
    assert first.returncode == 2, first.stderr
    assert first.result(f"sysctl:{KEY}")["changes"] == [{"property": "ensure", "from": "absent", "to": "present"}]
    persisted = site.path(PERSISTED)
    assert persisted.read_text() == f"# Managed by tend (sysctl:{KEY}): changes here are overwritten.\n{KEY} = 1\n"
    assert persisted.stat().st_mode & 0o777 == 0o644
    assert site.path("/etc/sysctl.d/99-tend-vm.swappiness.conf").read_text().endswith("vm.swappiness = 10\n")
    again = site.apply()
    assert again.returncode == 0, again.stderr
    assert set(again.statuses.values()) == {"unchanged"}
    assert again.stderr == ""  # under --root the live kernel is not looked at, so nothing to warn about


def test_a_new_value_rewrites_the_file_and_absent_removes_it(site: Site) -> None:
    manifest(site, f"  - sysctl: {KEY}\n    value: 1\n")
    assert site.apply().returncode == 2
    old = site.path(PERSISTED).read_bytes()
    manifest(site, f"  - sysctl: {KEY}\n    value: 0\n")
    changed = site.apply()
    assert changed.result(f"sysctl:{KEY}")["changes"] == [{"property": "value", "from": "1", "to": "0"}]
    assert site.path(PERSISTED).read_text().endswith(f"{KEY} = 0\n")
    assert old in bucket_contents(site)
    manifest(site, f"  - sysctl: {KEY}\n    ensure: absent\n")
    plan = site.plan()
    assert plan.status(f"sysctl:{KEY}") == "would-change" and site.path(PERSISTED).exists()
    removed = site.apply()
    assert removed.returncode == 2, removed.stderr
    assert not site.path(PERSISTED).exists()
    assert site.apply().returncode == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [("  - sysctl: net/ipv4/ip_forward\n    value: 1\n",
      "manifests/kernel.yaml:2: sysctl:net/ipv4/ip_forward: 'net/ipv4/ip_forward' is not a sysctl key"),
     ("  - sysctl: vm.swappiness\n    ensure: present\n",
      "manifests/kernel.yaml:2: sysctl:vm.swappiness: 'value' is required (unless ensure: absent)"),
     ("  - sysctl: vm.swappiness\n    value: 1\n    ensure: gone\n",
      "manifests/kernel.yaml:4: sysctl:vm.swappiness: 'ensure' must be one of present, absent, not 'gone'"),
     ("  - sysctl: vm.swappiness\n    value: [1]\n",
      "manifests/kernel.yaml:3: sysctl:vm.swappiness: 'value' must be a string or an integer, not a list")],
)  # fmt: skip
def test_errors_name_the_file_and_line(site: Site, body: str, message: str) -> None:
    manifest(site, body)
    run = site.apply(json_report=False)
    assert run.returncode == 1 and message in run.stderr, run.stderr
    assert not site.path("/etc/sysctl.d").exists()


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a network namespace and mounts)")
needs_unshare = pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")


def apply_twice_in_namespaces(tmp_path: Path, want: str, setup: str = "") -> dict[str, str]:
    """Two applies of `sysctl: net.ipv4.ip_forward` in their own network and mount namespaces: their
    ip_forward and /etc/sysctl.d (a bind mount of tmp_path/sysctl.d) are their own, so the host's are never
    touched. `setup`: more shell lines run in the namespaces first. Gives each apply's exit code, stderr
    and report, the live value after the first, and the persisted file."""
    repo, state, persisted = tmp_path / "repo", tmp_path / "state", tmp_path / "sysctl.d"
    persisted.mkdir()
    write_tree(repo, {
        "hiera.yaml": HIERA,
        "data/common.yaml": "classes: [kernel]\n",
        "manifests/kernel.yaml": f"resources:\n  - sysctl: {KEY}\n    value: {want}\n",
    })  # fmt: skip
    apply = f"{sys.executable} -m agent apply --repo {repo} --state-dir {state} --json --detailed-exitcodes"
    out = tmp_path / "out"
    out.mkdir()
    script = f"mount --bind {persisted} /etc/sysctl.d || exit 99\n{setup}\n" + "".join(
        f"{apply} > {out}/{n}.json 2> {out}/{n}.err; echo $? > {out}/{n}.rc\n"
        + (f"cat /proc/sys/net/ipv4/ip_forward > {out}/live\n" if n == "first" else "")
        for n in ("first", "second")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    env.update(TEND_CONFIG="/dev/null", TEND_FACTS_FILE="/nonexistent/f.yaml", TEND_FACTS_DIR="/nonexistent/f.d")
    done = subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    if not (out / "first.rc").exists():
        pytest.skip(f"cannot make namespaces here: {done.stderr.strip()}")
    found = {p.name: p.read_text() for p in out.iterdir()}
    file = persisted / "99-tend-net.ipv4.ip_forward.conf"
    return {**found, "persisted": file.read_text() if file.exists() else ""}


def host_forwarding() -> str:
    return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()


@needs_root
@needs_unshare
def test_set_live_in_a_network_namespace(tmp_path: Path) -> None:
    host = host_forwarding()
    want = "0" if host == "1" else "1"  # a new namespace starts from the host's value
    run = apply_twice_in_namespaces(tmp_path, want)
    assert run["first.rc"].strip() == "2", run["first.err"]
    assert [r["status"] for r in json.loads(run["first.json"])["resources"]] == ["changed"]
    assert run["live"].strip() == want
    assert run["persisted"].endswith(f"{KEY} = {want}\n")
    assert run["second.rc"].strip() == "0", run["second.err"]
    assert host_forwarding() == host and not Path(PERSISTED).exists()


@needs_root
@needs_unshare
def test_read_only_proc_sys_is_a_warning(tmp_path: Path) -> None:
    host = host_forwarding()
    want = "0" if host == "1" else "1"
    run = apply_twice_in_namespaces(
        tmp_path, want, setup="mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys || exit 98"
    )
    warning = f"sysctl:{KEY}: /proc/sys is read-only here (a container?): {KEY} is persisted, not set live"
    assert run["first.rc"].strip() == "2" and warning in run["first.err"], run["first.err"]
    assert run["live"].strip() == host
    assert run["persisted"].endswith(f"{KEY} = {want}\n")
    assert run["second.rc"].strip() == "0" and warning in run["second.err"], run["second.err"]
    assert [r["status"] for r in json.loads(run["second.json"])["resources"]] == ["unchanged"]
