"""`tend apply` and `tend plan`: compile this host's catalog, converge it (or preview it), report."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from agent.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    for name, noop in (("apply", False), ("plan", True)):
        helptext = "converge this host to its catalog" if not noop else "show what apply would change, with diffs"
        parser = commands.add_parser(name, help=helptext)
        common.add_repo_options(parser)
        common.add_agent_options(parser)
        common.add_fact_options(parser)
        if not noop:
            parser.add_argument("--noop", action="store_true", help="change nothing; report what would change")
        parser.add_argument("--root", type=Path, help="treat DIR as the filesystem root")
        parser.add_argument("--tags", help="only resources with one of these tags (comma-separated)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--detailed-exitcodes", action="store_true", help="0 none, 2 changes, 4 failures, 6 both")
        parser.add_argument("--wait", action="store_true", help="wait for a run in progress instead of failing")
        parser.set_defaults(run=run, plan=noop)


def run(args: argparse.Namespace) -> int:
    report, stop = converge(args)
    return exit_code(report, stop, args.detailed_exitcodes)


def exit_code(report, stop: _StopFlag, detailed: bool) -> int:
    if report.interrupted and stop.signal:
        return 128 + stop.signal
    return report.exit_code(detailed)


def converge(
    args: argparse.Namespace,
    repo: Path | None = None,
    bundle: dict[str, str] | None = None,
    bundle_time=None,
    lock_held: bool = False,
):
    """One converge as the arguments say, its lines and summary printed; the report and the stop flag."""
    from agent.cli.converge import Converge

    noop = args.plan or args.noop
    settings = common.settings_of(args)
    repo = repo or common.repo_of(args, settings)
    facts = common.facts_of(args, settings, repo)
    colour = sys.stdout.isatty() and not args.json
    converge = Converge(
        repo,
        settings,
        facts,
        host=args.host or str(facts.get("hostname", "")),
        root=args.root,
        noop=noop,
        diffs=args.plan,
        tags=frozenset(t.strip() for t in (args.tags or "").split(",") if t.strip()),
        bundle=bundle,
        bundle_time=bundle_time,
        detailed_exitcodes=args.detailed_exitcodes,
        lock_held=lock_held,
        preview=noop and args.host is not None,
        warn=lambda text: print(f"tend: warning: {text}", file=sys.stderr),
    )
    stop = _StopFlag()
    try:
        report = converge.run(wait=args.wait, stop=stop, printer=None if args.json else _printer(colour, args.plan))
    finally:
        stop.restore()
    if report.error:
        print(f"tend: {report.error}", file=sys.stderr)
    if args.json:
        common.print_json(report.to_json(args.detailed_exitcodes))
    else:
        from agent.reports.text import check_lines, summary

        if not report.error:
            for line in check_lines(report):
                print(line)
            print(summary(report))
    return report, stop


def _printer(colour: bool, diffs: bool):
    from agent.reports.text import diff_block, resource_line

    def show(result) -> None:
        line = resource_line(result, colour)
        if line:
            print(line, flush=True)
            if diffs:
                sys.stdout.write(diff_block(result))

    return show


class _StopFlag:
    """SIGTERM and SIGINT during a run: finish the resource in hand, skip the rest, report."""

    def __init__(self) -> None:
        self.signal = 0
        self.previous = {signum: signal.signal(signum, self._handle) for signum in (signal.SIGTERM, signal.SIGINT)}

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.signal = signum

    def __call__(self) -> bool:
        return bool(self.signal)
