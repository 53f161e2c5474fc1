"""The report for people: a line per resource that changed (or would, or failed), diffs in plan, a summary."""

from __future__ import annotations

from collections import Counter

from agent.reports.model import Report, ResourceResult, Status

_COLOURS = {
    Status.CHANGED: "32",
    Status.WOULD_CHANGE: "33",
    Status.WOULD_REFRESH: "33",
    Status.FAILED: "31",
    Status.SKIPPED: "35",
    Status.WOULD_PURGE: "33",
    Status.DROPPED: "36",
    Status.REMOVED: "32",
    Status.WOULD_REMOVE: "33",
}


def resource_line(result: ResourceResult, colour: bool) -> str | None:
    """One line for a resource worth mentioning; None for an unchanged one."""
    if result.status is Status.UNCHANGED:
        return None
    status = str(result.status)
    if colour:
        status = f"\033[{_COLOURS[result.status]}m{status}\033[0m"
    line = f"{status:<14} {result.id}"
    if result.error:
        line += f": {result.error}"
    elif result.changes and result.status is not Status.WOULD_PURGE:  # a stray's only change is that it goes
        props = ", ".join(str(c["property"]) for c in result.changes)
        line += f" ({props}{', sensitive' if result.sensitive else ''})"
    if result.drift:
        line += " [drift]"
    return line


def diff_block(result: ResourceResult) -> str:
    if result.sensitive and result.status is Status.WOULD_CHANGE:
        return "    content changed (sensitive)\n"
    if not result.diff:
        return ""
    return "".join(f"    {line}" for line in result.diff.splitlines(keepends=True))


def check_lines(report: Report) -> list[str]:
    return [
        f"check {c['status']:<7} {c['kind']} {c['target']}" + (f": {c['detail']}" if c["status"] == "failed" else "")
        for c in report.checks
    ]


def summary(report: Report) -> str:
    counts = Counter(str(r.status) for r in report.resources)
    parts = [f"{counts[s]} {s}" for s in sorted(counts)]
    took = (report.finished - report.started).total_seconds() if report.finished else 0.0
    verb = "noop" if report.mode == "noop" else "applied"
    drift = sum(1 for r in report.resources if r.drift)
    extra = f", {drift} drifted" if drift else ""
    return (
        f"{report.host}: {verb} {len(report.resources)} resources: {', '.join(parts) or 'none'}{extra} in {took:.2f} s"
    )
