"""`tend diff [FROM] [TO]`: every inventory host's catalog compiled at two revisions and compared (exit 2: changes)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("diff", help="what a change does to every inventory host's catalog")
    parser.add_argument("old", metavar="FROM", nargs="?", default="HEAD", help="a revision (default HEAD)")
    parser.add_argument("new", metavar="TO", nargs="?", help="a revision (default: the working tree)")
    common.add_repo_options(parser)
    parser.add_argument("--host", action="append", default=[], metavar="H", help="only this host (repeatable)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--jobs", type=int, help="compile on this many processes (default: every core)")
    parser.add_argument("--cache-dir", type=Path, help="where compiled catalogs are kept (default ~/.cache/tend)")
    parser.add_argument("--no-cache", action="store_true", help="compile everything afresh, keep nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agent.bundles.revision import revision_tree
    from agent.catalog.cache import CompileCache
    from agent.fleet.catalogs import default_cache_dir
    from agent.fleet.diff import Side, diff_fleet, render_text

    repo = common.repo_of(args, common.settings_of(args))
    cache = CompileCache(None if args.no_cache else (args.cache_dir or default_cache_dir()))
    with revision_tree(repo, args.old) as old, revision_tree(repo, args.new) as new:
        result = diff_fleet(
            Side(old.label, old.root, old.digest), Side(new.label, new.root, new.digest),
            only=args.host, cache=cache, workers=args.jobs,
        )  # fmt: skip
    if args.format == "json":
        common.print_json(result.to_json())
    else:
        sys.stdout.write(render_text(result))
    for error in result.errors:
        print(f"tend: {error}", file=sys.stderr)
    if result.errors:
        return 1
    return 2 if result.hosts else 0
