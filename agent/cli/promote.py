"""`tend promote STAGE [COMMIT]`: release a commit to a stage once the order and the evidence allow it."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import common

if TYPE_CHECKING:
    from agent.secrets.gpg import GnuPG
    from agent.settings import AgentSettings


def add_evidence_options(parser: argparse.ArgumentParser) -> None:
    """--evidence and what verifying release tags needs: the trusted signers, a keyring, the branch."""
    parser.add_argument(
        "--evidence", metavar="prometheus=URL|reports=DIR", help="default: pipeline.yaml's evidence.source"
    )
    parser.add_argument(
        "--trusted-signer",
        action="append",
        default=[],
        metavar="FPR",
        help="a trusted release signer, besides agent.yaml's source.trusted_signers (repeatable)",
    )
    parser.add_argument("--gnupghome", type=Path, help="the admin's GnuPG home (default $GNUPGHOME or ~/.gnupg)")
    parser.add_argument("--branch", help="the branch first stages follow (default agent.yaml's, else main)")


@contextlib.contextmanager
def evidence_context(args: argparse.Namespace) -> Iterator[tuple[Path, AgentSettings, GnuPG, datetime]]:
    """What judging fleet evidence needs, from the options above: the repository, the agent settings, the
    admin's keyring (released afterwards) and the moment it is judged at."""
    from agent.pipeline import admin

    settings = common.settings_of(args)
    repo = common.repo_of(args, settings)
    keyring = admin.admin_keyring(args.gnupghome)
    try:
        yield repo, settings, keyring, admin.utc_now()
    finally:
        keyring.release()


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("promote", help="release a commit to a stage (a signed tag tend/STAGE/N)")
    parser.add_argument("stage", metavar="STAGE")
    parser.add_argument("commit", metavar="COMMIT", nargs="?", help="default: the newest commit the order allows")
    common.add_repo_options(parser)
    common.add_agent_options(parser)
    add_evidence_options(parser)
    parser.add_argument("--key", metavar="FPR", help="the signing key (default: your one trusted secret key)")
    parser.add_argument("--push", action="store_true", help="push the tag (to --remote)")
    parser.add_argument("--remote", default="origin", help="where --push pushes (default origin)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agent.pipeline import admin, promote

    with evidence_context(args) as (repo, settings, keyring, now):
        examined = admin.examine_promotion(
            repo, settings, args.stage, commit=args.commit, evidence=args.evidence,
            extra_trusted=args.trusted_signer, keyring=keyring, branch=args.branch, now=now,
        )  # fmt: skip
        decision = examined.decision
        print("\n".join(decision.assessment.lines()))
        if not decision.ok:
            for refusal in decision.order:
                print(f"tend: promote refused: {refusal}", file=sys.stderr)
            if not decision.assessment.ok:
                print(f"tend: promote refused: the evidence does not show {decision.commit[:12]} healthy on "
                      f"{' and '.join(decision.assessment.stage_names)} (see above)", file=sys.stderr)  # fmt: skip
            return 1
        key = promote.signing_key(keyring, examined.pinned, args.key)
        promote.write_tag(examined.git_dir, decision, decision.message(examined.source, now), keyring, key)
    print(f"released {decision.commit[:12]} to {args.stage}: tag {decision.tag}, signed by {key[0]}")
    if args.push:
        promote.push_tag(examined.git_dir, args.remote, decision.tag)
        print(f"pushed {decision.tag} to {args.remote}")
    else:
        print(f"not pushed (give --push, or: git push {args.remote} {decision.tag})")
    return 0
