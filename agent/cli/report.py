"""`tend report [last|list|show ID]` and `tend drift`: the stored reports, read back."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from agent.cli import common

if TYPE_CHECKING:
    from agent.reports.store import ReportStore


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="show stored run reports")
    report.add_argument("which", nargs="?", default="last", choices=["last", "list", "show"])
    report.add_argument("run_id", nargs="?", help="with show: the run id")
    report.add_argument("--json", action="store_true", help="print JSON")
    common.add_agent_options(report)
    report.set_defaults(run=run_report)
    drift = commands.add_parser("drift", help="resources changed behind tend's back in recent runs")
    drift.add_argument("--since", help="only runs started at or after this ISO time")
    drift.add_argument("--json", action="store_true", help="print JSON")
    common.add_agent_options(drift)
    drift.set_defaults(run=run_drift)


def _store(args: argparse.Namespace) -> ReportStore:
    from agent.reports.store import ReportStore

    settings = common.settings_of(args)
    return ReportStore(settings.state.reports, settings.report_retention)


def run_report(args: argparse.Namespace) -> int:
    from agent.errors import TendError

    store = _store(args)
    if args.which == "list":
        for run_id in store.ids():
            report = store.load(run_id)
            print(f"{run_id}  {report['mode']:<5}  {report['status']:<9}  {len(report['resources'])} resources")
        return 0
    run_id = "last" if args.which == "last" else args.run_id
    if not run_id:
        raise SystemExit("tend report show: give the run id (see tend report list)")
    try:
        report = store.load(run_id)
    except (OSError, ValueError):
        raise TendError(f"no report {run_id!r} in {store.directory}") from None
    if args.json:
        common.print_json(report)
        return 0
    print(f"run {report['run_id']} on {report['host']}: {report['mode']}, {report['status']}, "
          f"exit {report['exit_code']}, {report['started']} .. {report['finished']}")  # fmt: skip
    if report.get("bundle"):
        print(f"bundle {report['bundle']['commit']} signed by {report['bundle']['signer']}")
    if report.get("error"):
        print(f"error: {report['error']}")
    for resource in report["resources"]:
        if resource["status"] != "unchanged":
            extra = resource.get("error") or ", ".join(c["property"] for c in resource["changes"])
            print(f"  {resource['status']:<13} {resource['id']}{' [drift]' if resource['drift'] else ''}: {extra}")
    for check in report.get("checks", []):
        print(f"  check {check['status']:<6} {check['kind']} {check['target']}: {check.get('detail') or ''}")
    return 0


def run_drift(args: argparse.Namespace) -> int:
    store = _store(args)
    found = []
    for run_id in store.ids():
        try:
            report = store.load(run_id)
        except (OSError, ValueError):
            print(f"tend: warning: unreadable report {run_id}", file=sys.stderr)
            continue
        if args.since and report["started"] < args.since:
            continue
        for resource in report["resources"]:
            if resource.get("drift"):
                found.append({"run_id": run_id, "started": report["started"], "host": report["host"],
                              "id": resource["id"], "status": resource["status"]})  # fmt: skip
    if args.json:
        common.print_json(found)
    else:
        for item in found:
            print(f"{item['started']}  {item['host']}  {item['id']}  ({item['status']}, run {item['run_id']})")
    return 0
