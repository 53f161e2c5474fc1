"""Run metrics in the Prometheus node-exporter textfile format, written atomically after each run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from agent.reports.model import Report, RunStatus
from agent.system import files


def render_metrics(report: Report, *, bundle_time: datetime | None, last_success: datetime | None) -> str:
    finished = report.finished or report.started
    counts = Counter(str(r.status) for r in report.resources)
    lines = [
        "# HELP tend_last_run_timestamp_seconds When the last run finished.",
        "# TYPE tend_last_run_timestamp_seconds gauge",
        f"tend_last_run_timestamp_seconds {finished.timestamp():.3f}",
        "# HELP tend_last_run_duration_seconds How long the last run took.",
        "# TYPE tend_last_run_duration_seconds gauge",
        f"tend_last_run_duration_seconds {(finished - report.started).total_seconds():.3f}",
        "# HELP tend_last_run_exit_code The last run's exit code (0: in sync).",
        "# TYPE tend_last_run_exit_code gauge",
        f"tend_last_run_exit_code {report.exit_code()}",
        "# HELP tend_resources Resources of the last run, by status.",
        "# TYPE tend_resources gauge",
        f'tend_resources{{status="total"}} {len(report.resources)}',
        *(f'tend_resources{{status="{s}"}} {counts.get(s, 0)}' for s in ("changed", "failed", "skipped")),
        f'tend_resources{{status="drifted"}} {sum(1 for r in report.resources if r.drift)}',
        "# HELP tend_checks Smoke checks of the last run, by result.",
        "# TYPE tend_checks gauge",
        *(
            f'tend_checks{{result="{s}"}} {sum(1 for c in report.checks if c["status"] == s)}'
            for s in ("passed", "failed")
        ),
    ]
    if last_success is not None:
        lines += [
            "# HELP tend_last_success_timestamp_seconds When a run last ended in sync.",
            "# TYPE tend_last_success_timestamp_seconds gauge",
            f"tend_last_success_timestamp_seconds {last_success.timestamp():.3f}",
        ]
    if bundle_time is not None:
        lines += [
            "# HELP tend_bundle_age_seconds How old the applied bundle is (since it was pulled).",
            "# TYPE tend_bundle_age_seconds gauge",
            f"tend_bundle_age_seconds {(finished - bundle_time).total_seconds():.3f}",
        ]
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, report: Report, *, bundle_time: datetime | None) -> None:
    """Write the metrics file (0644) atomically; the last success is carried over from the previous file."""
    last_success = report.finished if report.status is not RunStatus.FAILED else _previous_success(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, render_metrics(report, bundle_time=bundle_time, last_success=last_success).encode(),
                       mode=0o644)  # fmt: skip


def _previous_success(path: Path) -> datetime | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("tend_last_success_timestamp_seconds "):
                return datetime.fromtimestamp(float(line.split()[1]), UTC)
    except (OSError, ValueError):
        return None
    return None
