"""`tend pull`: only a signed tip, by a pinned fingerprint, descending from the deployed commit, is deployed."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT
from tests.integration.bundles.conftest import SHA, Agent, Site, control_repo, kill_gpg_agents


def _tree(base: Path) -> dict[str, str]:
    return {str(p.relative_to(base)): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


def test_a_signed_tip_is_deployed_then_up_to_date(site: Site) -> None:
    files = control_repo(site.out, "one\n", admins=(site.keys.ops,))
    commit = site.origin.commit("first", site.keys.ops, files)
    agent = site.agent

    done = agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"deployed {commit} (signed by {site.keys.ops.fingerprint})\n"
    assert agent.current() == commit
    assert SHA.match(commit)
    assert (agent.bundles / "current").resolve() == (agent.bundles / commit).resolve()
    assert _tree(agent.bundles / "current") == files  # the commit's tree, nothing else (no .git)

    again = agent.tend("pull")
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"up to date at {commit} (signed by {site.keys.ops.fingerprint})\n"
    assert agent.current() == commit
    assert agent.deployed() == {commit}


def test_an_unsigned_tip_is_refused(site: Site) -> None:
    good = site.origin.commit("signed", site.keys.ops, control_repo(site.out, "one\n", admins=(site.keys.ops,)))
    assert site.agent.tend("pull").returncode == 0
    unsigned = site.origin.commit("unsigned", None, {"data/extra.yaml": "x: 1\n"})

    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"refusing commit {unsigned[:12]}: not signed" in done.stderr
    assert site.agent.current() == good
    assert site.agent.deployed() == {good}


def test_a_commit_signed_by_an_untrusted_admin_is_refused_naming_the_signer(site: Site) -> None:
    """eve's public key is in the commit's keys/admins/, but only the pinned fingerprints decide trust."""
    keys = site.keys
    good = site.origin.commit("ops", keys.ops, control_repo(site.out, "one\n", admins=(keys.ops, keys.eve)))
    assert site.agent.tend("pull").returncode == 0
    site.origin.commit("eve", keys.eve, control_repo(site.out, "evil\n", admins=(keys.ops, keys.eve)))

    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert keys.eve.fingerprint in done.stderr
    assert "not in trusted_signers" in done.stderr
    assert site.agent.current() == good
    assert (site.agent.bundles / "current" / "manifests/app.yaml").read_text().count("one") == 1


def test_an_untrusted_signer_is_refused_on_a_first_pull_too(site: Site) -> None:
    keys = site.keys
    site.origin.commit("eve", keys.eve, control_repo(site.out, "evil\n", admins=(keys.eve,)))
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert keys.eve.fingerprint in done.stderr
    assert site.agent.current() is None
    assert site.agent.deployed() == set()


def test_the_trusted_key_only_in_the_commits_keys_admins_is_enough(site: Site) -> None:
    commit = site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n", admins=(site.keys.ops,)))
    assert not (site.agent.state / "gnupg").exists()  # the agent keyring is empty
    done = site.agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commit


def test_the_trusted_key_only_in_the_agent_keyring_is_enough(site: Site) -> None:
    commit = site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n"))  # no keys/admins/
    site.agent.import_key(site.keys.ops)
    done = site.agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commit


def test_a_signer_the_agent_cannot_verify_is_refused(site: Site) -> None:
    """Signed by ops, but no public key anywhere: nothing to check the signature with."""
    site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n"))
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "no good signature by a known key" in done.stderr
    assert site.agent.current() is None


def test_no_trusted_signers_refuses_everything(site: Site) -> None:
    site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n", admins=(site.keys.ops,)))
    site.agent.trust()
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "no trusted_signers" in done.stderr
    assert site.agent.current() is None


def test_a_replayed_older_commit_is_refused(site: Site) -> None:
    ops = site.keys.ops
    older = site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    newer = site.origin.commit("B", ops, control_repo(site.out, "B\n", admins=(ops,)))
    assert site.agent.tend("pull").returncode == 0
    assert site.agent.current() == newer

    site.origin.force(older)  # the branch forced back to a signed ancestor
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "does not descend" in done.stderr
    assert site.agent.current() == newer


def test_a_signed_rewrite_that_drops_the_deployed_commit_is_refused(site: Site) -> None:
    ops = site.keys.ops
    base = site.origin.commit("A", ops, control_repo(site.out, "A\n", admins=(ops,)))
    deployed = site.origin.commit("B", ops, control_repo(site.out, "B\n", admins=(ops,)))
    assert site.agent.tend("pull").returncode == 0
    site.origin.force(base)
    site.origin.commit("B'", ops, control_repo(site.out, "B'\n", admins=(ops,)))
    done = site.agent.tend("pull")
    assert done.returncode == 1
    assert "does not descend" in done.stderr
    assert site.agent.current() == deployed


def _seven_pulls(site: Site) -> list[str]:
    ops, commits = site.keys.ops, []
    for n in range(7):
        commits.append(site.origin.commit(f"c{n}", ops, control_repo(site.out, f"{n}\n", admins=(ops,))))
        done = site.agent.tend("pull")
        assert done.returncode == 0, done.stderr
    return commits


def test_only_the_last_five_bundles_are_kept_and_a_pruned_one_can_come_back(site: Site) -> None:
    commits = _seven_pulls(site)
    assert site.agent.current() == commits[-1]
    assert len(site.agent.deployed()) == 5
    assert commits[-1] in site.agent.deployed()
    records = {p.stem for p in (site.agent.bundles / ".records").glob("*.json")}
    assert records == site.agent.deployed()

    # An admin may still go back to a pruned commit: it is fetched, verified and checked out again.
    gone = next(n for n, commit in enumerate(commits) if commit not in site.agent.deployed())
    done = site.agent.tend("rollback", "--to", commits[gone])
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commits[gone]
    assert (site.out / "app.conf").read_text() == f"{gone}\n"


# The host's clock one day fast, as before NTP corrects it (or a VM restored from a snapshot).
FAST_CLOCK = """
import sys
from datetime import UTC, datetime, timedelta
import agent.bundles.pull
agent.bundles.pull._now = lambda: (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
from agent.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_five_kept_are_the_newest_even_when_the_clock_steps_back(site: Site) -> None:
    ops, commits = site.keys.ops, []
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")} | {"TEND_CONFIG": "/dev/null"}
    for n in range(7):
        commits.append(site.origin.commit(f"c{n}", ops, control_repo(site.out, f"{n}\n", admins=(ops,))))
        argv = ["pull", "--config", str(site.agent.config), "--state-dir", str(site.agent.state)]
        clock = ["-c", FAST_CLOCK] if n < 5 else ["-m", "agent"]  # the clock is corrected before the 6th pull
        done = subprocess.run([sys.executable, *clock, *argv], cwd=PROJECT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert site.agent.current() == commits[-1]
    assert site.agent.deployed() == set(commits[-5:])


def test_a_long_state_dir_leaves_no_gnupg_links_in_tmp(site: Site, tmp_path: Path) -> None:
    long_state = tmp_path / ("s" * 40) / "state"
    agent = Agent(tmp_path / "long.yaml", long_state, site.origin, (site.keys.ops.fingerprint,))
    site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n", admins=(site.keys.ops,)))
    (long_state / "gnupg").mkdir(parents=True, mode=0o700)  # a host keyring, empty here
    assert len(str(long_state / "gnupg")) > 60
    try:
        for _ in range(2):
            assert agent.tend("pull").returncode == 0
    finally:
        kill_gpg_agents(long_state / "gnupg")
        mine = str(long_state / "gnupg")
        leaked = [link for link in glob.glob("/tmp/tend-g-*/h") if os.path.realpath(link) == mine]
        for link in leaked:
            os.unlink(link)
            os.rmdir(os.path.dirname(link))
    assert leaked == []


def test_trusted_signers_may_be_written_in_lower_case_with_spaces(site: Site) -> None:
    fingerprint = site.keys.ops.fingerprint
    spaced = " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4)).lower()
    site.agent.trust(f'"{spaced}"')
    commit = site.origin.commit("ops", site.keys.ops, control_repo(site.out, "one\n", admins=(site.keys.ops,)))
    done = site.agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert site.agent.current() == commit
