"""The benchmark harness still works: its quick mode runs once per suite (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT


def test_bench_quick_mode_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", str(out)], cwd=PROJECT, check=True, timeout=300)
    results = json.loads(out.read_text())["results"]
    assert len(results) >= 8
    for entry in results:
        assert {"median", "min", "max", "ratio"} <= set(entry)
