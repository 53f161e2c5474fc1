"""End to end on a booted Debian 12 with systemd: tend.service (packaging/) pulls a signed control repository with a
pipeline.yaml; a commit that does not compile is refused, the last good bundle keeps converging (a hand edit of
/etc/motd is reverted), the unit does not fail, and `tend_bundle_refused` names the commit.

The root is the cached plain one plus git and python3-gnupg (made once, cached as bookworm-pipeline-rootfs). Needs
root; skipped with the reason where debootstrap or nspawn cannot run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.e2e.conftest import Machine, boot, ensure_tools, make_derived_rootfs
from tests.integration.bundles.conftest import Keys, Origin, keys  # noqa: F401  (the keys fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (debootstrap, nspawn)"),
]

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"
METRICS = "/var/lib/node_exporter/textfile/tend.prom"


def site(signers: Keys, attribute: str = "content") -> dict[str, str]:
    """One class writing /etc/motd; `attribute` misspelt makes the commit fail its schema."""
    return {
        "hiera.yaml": HIERA,
        "data/c.yaml": "classes: [motd]\n",
        "manifests/motd.yaml": f'resources:\n  - file: /etc/motd\n    {attribute}: "managed by tend\\n"\n',
        "pipeline.yaml": "stages:\n  dev: {}\n  prod: {after: [dev]}\n",
        "keys/admins/ops.asc": signers.ops.public,
    }


@dataclass
class Host(Machine):
    def start_tend(self) -> tuple[int, str]:
        """`systemctl start tend.service` (a oneshot: it returns when the run ends), and the unit's Result."""
        started = self.run("systemctl", "start", "tend.service", timeout=300)
        return started.returncode, self.run("systemctl", "show", "-P", "Result", "tend.service").stdout.strip()

    def read(self, path: str) -> str:
        return self.run("cat", path).stdout


@pytest.fixture
def host(tmp_path: Path, keys: Keys) -> Iterator[tuple[Host, Origin]]:  # noqa: F811
    ensure_tools()
    rootfs = make_derived_rootfs("pipeline", ["git", "python3-gnupg"])
    origin = Origin(tmp_path / "site", keys)
    binds = (f"--bind-ro={PROJECT}:/opt/tend", f"--bind-ro={tmp_path}:/opt/e2e")
    with boot(rootfs, tmp_path / "nspawn.log", *binds, prefix="tend-e2e-pipe") as machine:
        made = Host(machine.pid, machine.machine)
        _install(made, keys)
        yield made, origin


def _install(host: Host, signers: Keys) -> None:
    """tend from the working tree as /usr/bin/tend, its agent.yaml, and packaging/'s unit."""
    agent = (
        f"source: {{git: /opt/e2e/site, branch: main, trusted_signers: [{signers.ops.fingerprint}]}}\n"
        f"facts: {{environment: dev}}\nmetrics_file: {METRICS}\n"
    )
    unit = (PROJECT / "packaging/tend.service").read_text()
    script = (
        "printf '#!/bin/sh\\nPYTHONPATH=/opt/tend exec python3 -m agent \"$@\"\\n' > /usr/bin/tend"
        " && chmod 0755 /usr/bin/tend && mkdir -p /etc/tend"
        f" && printf '%s' {_quoted(agent)} > /etc/tend/agent.yaml"
        f" && printf '%s' {_quoted(unit)} > /etc/systemd/system/tend.service && systemctl daemon-reload"
    )
    done = host.run("sh", "-c", script)
    assert done.returncode == 0, done.stderr


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def test_a_bad_commit_is_refused_on_a_booted_host_and_the_unit_stays_green(host: tuple[Host, Origin]) -> None:
    machine, origin = host
    good = origin.commit("good", origin.keys.ops, site(origin.keys))
    code, result = machine.start_tend()
    assert (code, result) == (0, "success"), machine.run("journalctl", "-u", "tend", "--no-pager").stdout[-2000:]
    assert machine.read("/etc/motd") == "managed by tend\n"

    bad = origin.commit("typo", origin.keys.ops, site(origin.keys, attribute="contnet"))
    machine.run("sh", "-c", "echo 'by hand' > /etc/motd")
    code, result = machine.start_tend()
    journal = machine.run("journalctl", "-u", "tend", "--no-pager").stdout
    assert (code, result) == (0, "success"), journal[-2000:]  # the host is healthy: the unit is not failed
    assert machine.run("systemctl", "is-failed", "tend.service").stdout.strip() != "failed"
    assert machine.read("/etc/motd") == "managed by tend\n"  # the last good bundle reverted the hand edit
    assert f"rolling back to {good[:12]}" in journal and "contnet" in journal

    last = json.loads(machine.read("/var/lib/tend/reports/last_run.json"))
    assert last["bundle"]["commit"] == good and last["bundle"]["refused"]["commit"] == bad
    assert "manifests/motd.yaml:3" in last["bundle"]["refused"]["reason"]
    refused = re.findall(r'^tend_bundle_refused\{host="([^"]+)",commit="([0-9a-f]{40})"\} 1$', machine.read(METRICS),
                         re.M)  # fmt: skip
    assert [commit for _, commit in refused] == [bad] and refused[0][0]

    code, result = machine.start_tend()  # the bad tip is refused at the pull from now on, still green
    assert (code, result) == (0, "success")
    assert machine.run("readlink", "/var/lib/tend/bundles/current").stdout.strip().endswith(good)
