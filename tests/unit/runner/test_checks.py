"""Smoke checks' retries: a negative count still probes once and reports a status."""

from __future__ import annotations

from agent.catalog.checks import Check
from agent.location import Location
from agent.runner.checks import run_checks
from tests.unit.fakes import FakeSystem


def _command(retries: int) -> Check:
    return Check("command", ["probe"], {"retries": retries}, Location("manifests/site.yaml", 3))


def test_negative_retries_probe_once_and_fail() -> None:
    system = FakeSystem()
    system.on("probe", stderr="E: down\n", returncode=1)
    [result] = run_checks([_command(-1)], system, sleep=lambda s: None)
    assert (result.status, system.ran) == ("failed", ["probe"])
    assert "down" in result.detail


def test_negative_retries_probe_once_and_pass() -> None:
    system = FakeSystem()
    [result] = run_checks([_command(-2)], system, sleep=lambda s: None)
    assert (result.status, result.detail, system.ran) == ("passed", "exit 0", ["probe"])
