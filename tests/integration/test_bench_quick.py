"""The benchmark harness still works: its quick mode runs once per suite (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.markdown import render
from tests.conftest import PROJECT

NEW_WORKLOADS = ("W8 watch", "W9 diff", "W10 fleet", "W11 edits", "W12 purge")


def test_bench_quick_mode_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", str(out)], cwd=PROJECT, check=True, timeout=300)
    suite = json.loads(out.read_text())
    results = suite["results"]
    assert len(results) >= 8
    for entry in results:
        assert {"median", "min", "max", "ratio", "goals"} <= set(entry)
    workloads = {entry["workload"] for entry in results}
    assert set(NEW_WORKLOADS) <= workloads
    for workload in NEW_WORKLOADS:  # each new figure is judged against a target, met or not
        goals = [goal for entry in results if entry["workload"] == workload for goal in entry["goals"]]
        assert goals and all({"target", "measured", "met", "cause"} <= set(goal) for goal in goals)
    targets = render(None, suite).split("## Targets", 1)[1]
    for workload in NEW_WORKLOADS:
        assert f"| {workload}" in targets
