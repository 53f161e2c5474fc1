"""Release tags on real signed repositories: trusted tags count, untrusted and unsigned ones are ignored entirely."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.pipeline.model import pipeline_from_text
from agent.pipeline.releases import Releases, split_signed_tag
from agent.secrets.gpg import GnuPG
from tests.integration.pipeline.conftest import PIPELINE, Repo, site_files

pytestmark = pytest.mark.usefixtures("keys")


def releases(repo: Repo, home: Path, *trusted: str) -> Releases:
    return Releases(repo.path / ".git", trusted, GnuPG(home), branch_ref="refs/heads/main")


@pytest.fixture
def history(repo: Repo) -> tuple[str, str, str]:
    """Three signed commits on main, the admins' keys in keys/admins/."""
    files = {**site_files(), **{f"keys/admins/{s.name}.asc": s.public for s in (repo.keys.ops, repo.keys.eve)}}
    one = repo.commit("one", repo.keys.ops, files)
    two = repo.commit("two", repo.keys.ops, {"data/common.yaml": "classes: [motd]\nmotd::text: two\n"})
    three = repo.commit("three", repo.keys.ops, {"data/common.yaml": "classes: [motd]\nmotd::text: three\n"})
    return one, two, three


def test_a_commit_released_in_order_is_released_to_prod_and_its_tag_is_trusted(repo, history, agent_home):
    pipeline = pipeline_from_text(PIPELINE)
    _, two, _ = history
    ops = repo.keys.ops
    for stage in ("staging", "perf", "prod"):
        repo.tag(f"tend/{stage}/1", two, ops)
    with releases(repo, agent_home, ops.fingerprint) as found:
        assert found.refusal(two, "prod", pipeline) is None
        newest = found.newest("prod")
        assert newest is not None and (newest.commit, newest.number, newest.signer) == (two, 1, ops.fingerprint)
        assert found.target("prod", pipeline) == two
        assert found.target("dev", pipeline) == history[2]  # a first stage follows the branch tip
        assert found.next_number("prod") == 2


def test_an_out_of_order_prod_tag_is_refused_naming_the_stage_skipped(repo, history, agent_home):
    pipeline = pipeline_from_text(PIPELINE)
    _, _, three = history
    ops = repo.keys.ops
    repo.tag("tend/perf/1", three, ops)
    repo.tag("tend/prod/1", three, ops)  # signed and trusted, but staging never saw it
    with releases(repo, agent_home, ops.fingerprint) as found:
        assert found.carries(three, "prod") is not None
        assert found.refusal(three, "prod", pipeline) == f"{three[:12]} was never released to staging"
        assert found.refusal(three, "perf", pipeline) is None


def test_the_newest_release_is_the_highest_trusted_number_not_the_latest_tag_made(repo, history, agent_home):
    _, two, three = history
    ops = repo.keys.ops
    repo.tag("tend/staging/2", two, ops)
    repo.tag("tend/staging/1", three, ops)  # made later, numbered lower: out of order
    with releases(repo, agent_home, ops.fingerprint) as found:
        assert [(r.number, r.commit) for r in found.of("staging")] == [(2, two), (1, three)]
        assert found.newest("staging").commit == two


def test_untrusted_and_unsigned_tags_are_ignored_numbering_included(repo, history, agent_home):
    pipeline = pipeline_from_text(PIPELINE)
    one, _, three = history
    ops, eve = repo.keys.ops, repo.keys.eve
    repo.tag("tend/staging/1", one, ops)
    repo.tag("tend/staging/7", three, eve)  # eve's key is in keys/admins/, but not pinned
    repo.tag("tend/staging/8", three, None)  # annotated, unsigned
    repo.git("tag", "tend/staging/9", three)  # lightweight
    with releases(repo, agent_home, ops.fingerprint) as found:
        assert [r.number for r in found.of("staging")] == [1]
        assert found.newest("staging").commit == one
        assert found.refusal(three, "staging", pipeline) == f"{three[:12]} was never released to staging"
        assert found.next_number("staging") == 2
    with releases(repo, agent_home, eve.fingerprint) as as_eve:  # pinning decides, not the repository
        assert as_eve.newest("staging").commit == three


def test_a_signed_tag_copied_to_another_stage_is_ignored(repo, history, agent_home):
    _, two, _ = history
    ops = repo.keys.ops
    repo.tag("tend/staging/1", two, ops)
    tag_object = repo.git("rev-parse", "refs/tags/tend/staging/1")
    repo.git("update-ref", "refs/tags/tend/prod/1", tag_object)  # its own header still says tend/staging/1
    with releases(repo, agent_home, ops.fingerprint) as found:
        assert found.newest("staging") is not None
        assert found.newest("prod") is None


def test_a_first_stage_counts_a_commit_on_the_branch_as_released(repo, history, agent_home):
    pipeline = pipeline_from_text(PIPELINE)
    one, _, _ = history
    repo.git("checkout", "-q", "-b", "side", one)
    off_branch = repo.commit("side", repo.keys.ops)
    with releases(repo, agent_home, repo.keys.ops.fingerprint) as found:
        assert found.released(one, "dev", pipeline)
        assert found.refusal(off_branch, "dev", pipeline) == (
            f"{off_branch[:12]} was never released to dev (it is not on refs/heads/main)"
        )


def test_the_signature_is_the_tail_of_the_tag_message():
    raw = (
        b"object 1\ntype commit\ntag tend/dev/1\ntagger a <a> 1 +0000\n\nrelease\nline\n"
        b"-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n"
    )
    payload, signature = split_signed_tag(raw)
    assert payload.endswith(b"release\nline\n")
    assert signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert split_signed_tag(b"object 1\ntype commit\n\nno signature\n")[1] is None
