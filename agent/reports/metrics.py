"""Run metrics in the Prometheus node-exporter textfile format, written atomically after each run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from agent.reports.model import Report, RunStatus
from agent.system import files


def write_host_metrics(
    path: Path,
    report: Report,
    *,
    host: str,
    stage: str | None = None,
    converged_since: datetime | None = None,
    refused: str | None = None,
) -> None:
    """Write the §8.4 textfile of a full run (0644) atomically; the last success is carried over from the
    previous file when this run failed."""
    last_success = report.finished if report.status is not RunStatus.FAILED else _previous_success(path)
    text = render_host_metrics(report, host=host, stage=stage, converged_since=converged_since, refused=refused,
                               last_success=last_success)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, text.encode(), mode=0o644)


def _previous_success(path: Path) -> datetime | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("tend_last_success_timestamp_seconds"):
                return datetime.fromtimestamp(float(line.rsplit(None, 1)[1]), UTC)
    except (OSError, ValueError, IndexError):
        return None
    return None


def render_host_metrics(
    report: Report,
    *,
    host: str,
    stage: str | None = None,
    converged_since: datetime | None = None,
    refused: str | None = None,
    last_success: datetime | None = None,
) -> str:
    """The §8.4 textfile of a full run: every series labelled with `host` (the inventory name, which fleet
    evidence matches), the bundle's commit, signer and stage, when it converged, a refused commit."""
    finished = report.finished or report.started
    bundle = report.bundle or {}
    counts = Counter(str(r.status) for r in report.resources)
    at = f'host="{_label(host)}"'
    info = f'{at},commit="{_label(bundle.get("commit") or "")}",signer="{_label(bundle.get("signer") or "")}"'
    lines = [
        *_family("tend_bundle_info", "The applied bundle: its commit, signer and stage.",
                 [f'{info},stage="{_label(stage or "")}"}} 1'] if bundle.get("commit") else []),
        *_family("tend_bundle_converged_since_timestamp_seconds", "When this host first converged the commit cleanly.",
                 [f"{at}}} {converged_since.timestamp():.3f}"] if converged_since else []),
        *_family("tend_bundle_refused", "A commit this host refused (it kept the last good bundle).",
                 [f'{at},commit="{_label(refused)}"}} 1'] if refused else []),
        *_family("tend_last_run_timestamp_seconds", "When the last full run finished.",
                 [f"{at}}} {finished.timestamp():.3f}"]),
        *_family("tend_last_run_success", "1 when the last full run ended in sync, else 0.",
                 [f"{at}}} {0 if report.status is RunStatus.FAILED else 1}"]),
        *_family("tend_last_run_duration_seconds", "How long the last run took.",
                 [f"{at}}} {(finished - report.started).total_seconds():.3f}"]),
        *_family("tend_last_run_exit_code", "The last run's exit code (0: in sync).", [f"{at}}} {report.exit_code()}"]),
        *_family("tend_resources", "Resources of the last run, by status.", [
            f'{at},status="total"}} {len(report.resources)}',
            *(f'{at},status="{s}"}} {counts.get(s, 0)}' for s in ("changed", "failed", "skipped")),
            f'{at},status="drifted"}} {sum(1 for r in report.resources if r.drift)}',
        ]),
        *_family("tend_checks", "Smoke checks of the last run, by result.", [
            f'{at},result="{s}"}} {sum(1 for c in report.checks if c.get("status") == s)}' for s in ("passed", "failed")
        ]),
        *_family("tend_last_success_timestamp_seconds", "When a run last ended in sync.",
                 [f"{at}}} {last_success.timestamp():.3f}"] if last_success else []),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _family(name: str, help_text: str, samples: list[str]) -> list[str]:
    """One metric family: HELP, TYPE gauge and each sample (`labels} value`, the name and `{` added)."""
    if not samples:
        return []
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *(f"{name}{{{sample}" for sample in samples)]


def _label(value: str) -> str:
    """A label value escaped as the exposition format wants it."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
