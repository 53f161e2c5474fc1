"""A hostile source: commits that try to make tend work before their signature is checked, a signed commit
of another branch served as this one, and a replay after the deployed bundle's folder was removed."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.bundles.signature import MAX_ADMIN_KEYS, MAX_KEY_BYTES, MAX_OBJECT_BYTES, candidate_keys, read_object
from agent.errors import BundleError
from tests.integration.bundles.conftest import Site, control_repo


def _junk_admins(origin: Path, count: int, huge: int) -> None:
    admins = origin / "keys" / "admins"
    admins.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (admins / f"junk{number:04d}.asc").write_text(f"not a key {number}\n")
    with (admins / "aaa-huge.asc").open("wb") as blob:
        blob.truncate(huge)  # sorted first: a reader that takes files in order meets it at once


def test_candidate_keys_from_a_commit_are_bounded_in_count_and_size(site: Site) -> None:
    _junk_admins(site.origin.path, 800, 8 * MAX_KEY_BYTES)
    commit = site.origin.commit("junk", None, control_repo(site.out, "one\n"))
    keys = candidate_keys(site.origin.path / ".git", commit)
    assert len(keys) <= MAX_ADMIN_KEYS
    assert all(len(key) <= MAX_KEY_BYTES for key in keys)


def test_an_unsigned_commit_with_800_junk_keys_and_a_huge_blob_is_refused_before_any_key_is_read(site: Site):
    _junk_admins(site.origin.path, 800, 64 * 1024 * 1024)
    site.origin.commit("junk", None, control_repo(site.out, "one\n"))
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "not signed" in done.stderr
    assert site.agent.current() is None


def test_a_pinned_key_in_the_agent_keyring_verifies_without_reading_the_commits_keys(site: Site) -> None:
    _junk_admins(site.origin.path, 800, 64 * 1024 * 1024)
    commit = site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n"))
    site.agent.import_key(site.keys.ops)
    done = site.agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commit


def test_a_legit_admin_key_in_keys_admins_still_works_beside_junk(site: Site) -> None:
    _junk_admins(site.origin.path, 20, 8 * MAX_KEY_BYTES)
    commit = site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n", admins=(site.keys.ops,)))
    done = site.agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commit


def test_an_oversized_commit_object_is_not_read(site: Site, tmp_path: Path) -> None:
    message = tmp_path / "message"
    message.write_text("x" * (MAX_OBJECT_BYTES + 10))
    site.origin.write(control_repo(site.out, "one\n"))
    site.origin.git("add", "-A")
    site.origin.git("commit", "-q", "-F", str(message))
    commit = site.origin.git("rev-parse", "HEAD")
    try:
        read_object(site.origin.path / ".git", commit, "commit")
    except BundleError as error:
        assert "over the limit" in str(error)
    else:
        raise AssertionError("an oversized commit object was read")
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "over the limit" in done.stderr


def _bind(site: Site) -> None:
    site.agent.config.write_text(
        site.agent.config.read_text().replace("  branch: main\n", "  branch: main\n  bind_branch: true\n")
    )


def test_with_bind_branch_a_signed_staging_commit_served_as_main_is_refused(site: Site) -> None:
    _bind(site)
    site.origin.commit(
        "release\n\nTend-Branch: staging", site.keys.ops, control_repo(site.out, "s\n", admins=(site.keys.ops,))
    )
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "Tend-Branch: staging" in done.stderr and "not main" in done.stderr
    assert site.agent.current() is None


def test_with_bind_branch_a_commit_without_the_trailer_is_refused(site: Site) -> None:
    _bind(site)
    site.origin.commit("release", site.keys.ops, control_repo(site.out, "s\n", admins=(site.keys.ops,)))
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "no Tend-Branch trailer" in done.stderr


def test_with_bind_branch_the_trailer_naming_main_deploys(site: Site) -> None:
    _bind(site)
    files = control_repo(site.out, "m\n", admins=(site.keys.ops,))
    commit = site.origin.commit("release\n\nSigned-off-by: ops\nTend-Branch: main", site.keys.ops, files)
    done = site.agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commit


def test_without_bind_branch_a_commit_made_for_staging_deploys(site: Site) -> None:
    """What the README says stays open when binding is off."""
    files = control_repo(site.out, "s\n", admins=(site.keys.ops,))
    commit = site.origin.commit("release\n\nTend-Branch: staging", site.keys.ops, files)
    assert site.agent.tend("pull").returncode == 0
    assert site.agent.current() == commit


def test_a_replay_is_refused_after_the_current_bundles_folder_was_removed(site: Site) -> None:
    ops = site.keys.ops
    older = site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    assert site.agent.tend("pull").returncode == 0
    newer = site.origin.commit("B", ops, control_repo(site.out, "B\n", admins=(ops,)))
    assert site.agent.tend("pull").returncode == 0
    shutil.rmtree(site.agent.bundles / newer)

    site.origin.force(older)
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "does not descend" in done.stderr
    assert site.agent.current() == newer


def test_a_replay_is_refused_after_the_folder_and_the_current_link_were_removed(site: Site) -> None:
    ops = site.keys.ops
    older = site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    assert site.agent.tend("pull").returncode == 0
    newer = site.origin.commit("B", ops, control_repo(site.out, "B\n", admins=(ops,)))
    assert site.agent.tend("pull").returncode == 0
    shutil.rmtree(site.agent.bundles / newer)
    (site.agent.bundles / "current").unlink()

    site.origin.force(older)
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "does not descend" in done.stderr
