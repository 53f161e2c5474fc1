"""Commit faults against host faults on a simulated pipeline host (§8.2): a commit whose inventory fails its
schema, or whose secret is not encrypted for the host, is refused and marked bad while the last good bundle
keeps converging; a facts executable failing or an unreachable source exits 1 and marks nothing, so the commit
deploys once the host is mended.
"""
# ruff: noqa: F811  (each test takes the imported hosts fixture by its name)

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, run_tend
from tests.integration.pipeline.conftest import Repo
from tests.integration.pipeline.test_agent import Host, hosts, site  # noqa: F401  (the hosts fixture)

pytestmark = pytest.mark.usefixtures("keys")


def record(host: Host, commit: str) -> dict[str, object]:
    """What the host's bundle store recorded of `commit` ({} when it never checked it out)."""
    path = host.state / "bundles" / ".records" / f"{commit}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def test_a_commit_whose_inventory_fails_its_schema_is_refused(repo: Repo, hosts: dict[str, Host]) -> None:
    dev = hosts["dev1"]
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    broken = repo.commit("inventory", repo.keys.ops, {"keys/inventory.yaml": "hosts:\n  dev1: [dev]\nadmins: [ops]\n"})
    (dev.out / "motd").write_text("by hand\n")
    code, report, stderr = dev.run()
    assert code == 0, stderr
    assert dev.current() == good and dev.motd == "good\n"  # the hand edit reverted by the last good bundle
    assert report["bundle"]["refused"]["commit"] == broken
    assert "keys/inventory.yaml:2" in report["bundle"]["refused"]["reason"]
    assert record(dev, broken)["bad"] is True
    assert dev.metric("tend_bundle_refused") == {f'host="dev1",commit="{broken}"': "1"}


def keys_init(host: Host) -> str:
    """The host's own key, made as an operator does; its fingerprint."""
    made = run_tend(["keys", "init", "--name", host.name, "--config", str(host.config), "--state-dir", str(host.state)])
    assert made.returncode == 0, made.stderr
    found = re.search(r"created the host key ([0-9A-F]{40})", made.stderr)
    assert found, made.stderr
    return found[1]


def test_a_secret_not_encrypted_for_this_host_is_a_commit_fault(repo: Repo, hosts: dict[str, Host]) -> None:
    dev, stg = hosts["dev1"], hosts["stg1"]
    keys_init(dev)
    theirs = keys_init(stg)
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    ciphertext = subprocess.run(
        ["gpg", "--homedir", str(stg.state / "gnupg"), "--batch", "--trust-model", "always", "--encrypt",
         "--recipient", theirs],
        input=b"for stg1 only", capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    files = site(repo, "{{ secret }}\n")
    files["manifests/motd.yaml"] = 'parameters: {secret: ""}\n' + files["manifests/motd.yaml"]
    files["data/common.yaml"] += f"motd::secret: ENC[GPG,{base64.b64encode(ciphertext).decode()}]\n"
    secret = repo.commit("a secret for stg1 only", repo.keys.ops, files)
    code, report, stderr = dev.run()
    assert code == 0, stderr
    assert dev.current() == good and dev.motd == "good\n"
    assert report["bundle"]["refused"]["commit"] == secret
    assert "is not encrypted for dev1" in report["bundle"]["refused"]["reason"]
    assert record(dev, secret)["bad"] is True


def test_a_failing_facts_executable_is_a_host_fault_that_marks_nothing(repo: Repo, hosts: dict[str, Host]) -> None:
    dev = hosts["dev1"]
    facts = dev.out.parent / "facts.d"
    facts.mkdir()
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    probe = facts / "probe"
    probe.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    probe.chmod(0o755)
    new = repo.commit("new", repo.keys.ops, site(repo, "new\n"))
    done = run_tend(["run", "--config", str(dev.config), "--state-dir", str(dev.state)],
                    env={"TEND_FACTS_DIR": str(facts)})  # fmt: skip
    code, stderr = done.returncode, done.stderr
    assert code == 1 and "facts executable failed" in stderr and str(probe) in stderr
    assert dev.current() == good and record(dev, new) == {}
    assert dev.metric("tend_bundle_refused") == {}

    probe.write_text('#!/bin/sh\necho \'{"probe": "ok"}\'\n')
    done = run_tend(["run", "--config", str(dev.config), "--state-dir", str(dev.state)],
                    env={"TEND_FACTS_DIR": str(facts)})  # fmt: skip
    assert done.returncode == 0, done.stderr  # mended: the commit is looked at again, and deployed
    assert dev.current() == new and dev.motd == "new\n"


def test_an_unreachable_source_is_a_host_fault_that_marks_nothing(repo: Repo, hosts: dict[str, Host]) -> None:
    dev = hosts["dev1"]
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    new = repo.commit("new", repo.keys.ops, site(repo, "new\n"))
    away = repo.path.with_name("site.away")
    repo.path.rename(away)
    (dev.out / "motd").write_text("by hand\n")
    code, report, stderr = dev.run()
    assert code == 1, stderr  # the host is at fault, so the unit shows it
    assert "pull:" in stderr and "applying the current bundle" in stderr
    assert dev.current() == good and dev.motd == "good\n" and "refused" not in report["bundle"]
    assert record(dev, new) == {} and dev.metric("tend_bundle_refused") == {}

    away.rename(repo.path)
    code, report, stderr = dev.run()
    assert code == 0, stderr
    assert dev.current() == new and dev.motd == "new\n"


def test_a_commit_waiting_for_its_release_is_looked_at_on_every_run(repo: Repo, hosts: dict[str, Host]) -> None:
    stg = hosts["stg1"]
    one = repo.commit("one", repo.keys.ops, site(repo, "one\n"))
    repo.tag("tend/staging/1", one, repo.keys.ops)
    assert stg.run()[0] == 0 and stg.current() == one
    two = repo.commit("two", repo.keys.ops, site(repo, "two\n"))
    for _ in range(2):
        code, report, stderr = stg.run()
        assert code == 0, stderr
        assert stg.current() == one and "refused" not in report["bundle"]  # the tip is not released here
    repo.tag("tend/staging/2", two, repo.keys.ops)
    code, _, stderr = stg.run()
    assert code == 0, stderr
    assert stg.current() == two and stg.motd == "two\n" and record(stg, two)["bad"] is False


def test_an_older_release_tag_is_never_replayed(repo: Repo, hosts: dict[str, Host]) -> None:
    stg = hosts["stg1"]
    one = repo.commit("one", repo.keys.ops, site(repo, "one\n"))
    two = repo.commit("two", repo.keys.ops, site(repo, "two\n"))
    repo.tag("tend/staging/1", two, repo.keys.ops)
    assert stg.run()[0] == 0 and stg.current() == two
    repo.tag("tend/staging/2", one, repo.keys.ops)  # a newer number on an older commit: a replay
    code, report, stderr = stg.run()
    assert code == 0, stderr
    assert stg.current() == two and stg.motd == "two\n"
    assert report["bundle"]["refused"]["commit"] == one
    assert "does not descend from the deployed" in report["bundle"]["refused"]["reason"]


def test_a_full_disk_is_a_host_fault_that_marks_nothing(repo: Repo, hosts: dict[str, Host], tmp_path: Path) -> None:
    """TESTING.md's recipe: the bundle store on a full tmpfs in a private mount namespace, for one run."""
    dev = hosts["dev1"]
    good = repo.commit("good", repo.keys.ops, site(repo, "good\n"))
    assert dev.run()[0] == 0
    new = repo.commit("new", repo.keys.ops, site(repo, "new\n"))
    bundles, copy = dev.state / "bundles", tmp_path / "bundles.copy"
    run = shlex.join([sys.executable, "-m", "agent", "run", "--config", str(dev.config), "--state-dir", str(dev.state)])
    script = (
        f"set -e; cp -a {bundles} {copy}; mount -t tmpfs -o size=4m tmpfs {bundles}; cp -a {copy}/. {bundles}/;"
        f" dd if=/dev/zero of={bundles}/fill bs=4k 2>/dev/null || true; {run}"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    environment |= {"TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent", "TEND_FACTS_DIR": "/nonexistent"}
    full = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env=environment, cwd=PROJECT)  # fmt: skip
    if "mount:" in full.stderr or "unshare:" in full.stderr:
        pytest.skip(f"cannot mount a tmpfs in a private namespace here: {full.stderr.strip()[-200:]}")
    assert full.returncode == 1, full.stderr
    assert "No space left on device" in full.stderr, full.stderr
    assert dev.current() == good and record(dev, new) == {}
    code, _, stderr = dev.run()  # room again: the commit is looked at again, and deployed
    assert code == 0, stderr
    assert dev.current() == new and dev.motd == "new\n"
