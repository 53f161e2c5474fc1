"""Shared fixtures: running the tend command line as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def run_tend(
    args: Sequence[str], *, cwd: Path | None = None, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m agent ARGS` with no TEND_* variables from the caller's environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    base["TEND_CONFIG"] = "/dev/null"  # never read the machine's /etc/tend/agent.yaml
    base["TEND_FACTS_FILE"] = "/nonexistent/facts.yaml"
    base["TEND_FACTS_DIR"] = "/nonexistent/facts.d"
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=cwd or PROJECT,
        input=input,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tend() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_tend


# --- each layer's time, printed at the end of the run (CI shows it) --------------------------------------------

_layers: dict[str, list[float]] = {}  # layer -> [tests, summed seconds, first start, last stop]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    parts = Path(report.nodeid.split("::", 1)[0]).parts
    layer = "/".join(parts[1:3]) if parts[1:2] == ("integration",) and len(parts) > 3 else "/".join(parts[1:2])
    totals = _layers.setdefault(layer or "other", [0, 0.0, float("inf"), 0.0])
    totals[0] += report.when == "call"
    totals[1] += report.duration
    start, stop = getattr(report, "start", None), getattr(report, "stop", None)
    if start is not None and stop is not None:
        totals[2], totals[3] = min(totals[2], start), max(totals[3], stop)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Per layer: how many tests, their summed time, and the wall time from its first start to its last end
    (layers overlap under xdist, so the wall times add up to more than the run)."""
    if not _layers:
        return
    terminalreporter.write_sep("-", "time per layer")
    for layer, (count, summed, first, last) in sorted(_layers.items()):
        wall = f"{last - first:7.1f} s wall" if last >= first else ""
        terminalreporter.write_line(f"{layer:<28} {int(count):5d} tests {summed:8.1f} s summed {wall}")
