"""Shared fixtures: running the tend command line as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

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
