"""A signed control repository with a pipeline, release tags signed by real keys, and shipped host reports.

The signing keys are the bundles tests' (`ops` trusted, `eve` not); tags are made with git's own `tag -s`
in the admins' GNUPGHOME, as an admin would, or unsigned.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bundles.conftest import Keys, Origin, Signer, _short_home, keys, kill_gpg_agents  # noqa: F401

PIPELINE = """\
stages:
  dev: {}
  staging: {after: [dev]}
  perf: {after: [dev]}
  prod: {after: [staging, perf]}
evidence: {hosts: 100%, soak: 30m, stale_after: 65m}
"""
INVENTORY = """\
hosts:
  dev1: {role: web, environment: dev}
  stg1: {role: web, environment: staging}
  stg2: {role: web, environment: staging}
  perf1: {role: web, environment: perf}
  prod1: {role: web, environment: prod}
admins: [ops]
"""
HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: Common
    path: common.yaml
"""


def site_files(motd: str = "hello") -> dict[str, str]:
    return {
        "hiera.yaml": HIERA,
        "data/common.yaml": f"classes: [motd]\nmotd::text: {json.dumps(motd)}\n",
        "manifests/motd.yaml": textwrap.dedent("""\
            parameters: {text: ""}
            resources:
              - file: /etc/motd
                template: motd.j2
            """),
        "templates/motd.j2": "{{ text }} from {{ facts.environment }}\n",
        "keys/inventory.yaml": INVENTORY,
        "pipeline.yaml": PIPELINE,
    }


class Repo(Origin):
    """The admins' checkout: commits and release tags, signed or not."""

    def tag(self, name: str, commit: str, signer: Signer | None, message: str = "release") -> None:
        if signer is None:
            self.git("tag", "-a", "-m", message, name, commit)
        else:
            self.git("tag", "-s", "-u", signer.fingerprint, "-m", message, name, commit)


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> Repo:  # noqa: F811
    return Repo(tmp_path / "site", keys)


@pytest.fixture
def agent_home() -> Iterator[Path]:
    """An empty GnuPG home standing for a host's keyring (keys come from the repo's keys/admins/)."""
    home = _short_home("tp-a-")
    try:
        yield home
    finally:
        kill_gpg_agents(home)
        shutil.rmtree(home, ignore_errors=True)


def report(host: str, commit: str, *, minutes_ago: float, converged_minutes_ago: float | None,
           status: str = "unchanged", checks: tuple[str, ...] = ("passed",), drift: int = 0,
           refused: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A last_run.json as a host writes it (§7.6, §8.20)."""
    now = datetime.now(UTC)
    finished = now - timedelta(minutes=minutes_ago)
    bundle: dict[str, Any] = {"commit": commit, "signer": "F" * 40}
    if converged_minutes_ago is not None:
        bundle["converged_since"] = (now - timedelta(minutes=converged_minutes_ago)).isoformat()
    if refused:
        bundle["refused"] = {"commit": refused, "reason": "does not compile"}
    resources = [{"id": f"file:/x{i}", "status": "unchanged", "drift": True} for i in range(drift)]
    if status == "failed":
        resources.append({"id": "file:/etc/motd", "status": "failed", "drift": False})
    return {
        "run_id": "00000001", "host": host, "started": (finished - timedelta(seconds=3)).isoformat(),
        "finished": finished.isoformat(), "bundle": bundle, "mode": "apply", "status": status,
        "exit_code": 1 if status == "failed" else 0, "resources": resources,
        "checks": [{"name": f"check{i}", "status": s} for i, s in enumerate(checks)],
    }  # fmt: skip


def ship(directory: Path, host: str, data: dict[str, Any]) -> None:
    (directory / host).mkdir(parents=True, exist_ok=True)
    (directory / host / "last_run.json").write_text(json.dumps(data))
