"""Broken bundles: a pull killed half-way, a bundle deleted or corrupted, `current` pointing nowhere, stale git
locks. The agent must keep or restore a good bundle, say what happened, and converge.

Real git and gpg: an origin repository whose commits are signed by `ops`, an agent trusting ops's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.faults.conftest import (
    NO_PASSPHRASE,
    SEED,
    gpg,
    kill_gpg_agents,
    rng_for,
    scaled,
    short_home,
    tend_argv,
    tend_env,
    wait_for,
)

HIERA = (
    "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: Common\n    path: common.yaml\n"
)


@dataclass(frozen=True)
class Signer:
    home: Path
    fingerprint: str
    public: str


@pytest.fixture(scope="module")
def ops() -> Iterator[Signer]:
    for tool in ("gpg", "gpgconf", "git"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    home = short_home("tf-ops-")
    try:
        gpg(home, *NO_PASSPHRASE, "--quick-gen-key", "ops <ops@faults.test>", "ed25519", "sign", "never")
        colons = gpg(home, "--with-colons", "--list-keys").decode()
        fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
        yield Signer(home, fingerprint, gpg(home, "--armor", "--export", fingerprint).decode())
    finally:
        kill_gpg_agents(home)
        shutil.rmtree(home, ignore_errors=True)


class Origin:
    """The admins' repository, branch main, every commit signed by ops."""

    def __init__(self, path: Path, ops: Signer):
        self.path, self.ops = path, ops
        self.env = {**os.environ, "GNUPGHOME": str(ops.home), "GIT_CONFIG_GLOBAL": "/dev/null",
                    "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "ops", "GIT_AUTHOR_EMAIL": "ops@faults.test",
                    "GIT_COMMITTER_NAME": "ops", "GIT_COMMITTER_EMAIL": "ops@faults.test"}  # fmt: skip
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", str(self.path), *args], env=self.env, capture_output=True, timeout=300)
        assert done.returncode == 0, f"git {args}: {done.stderr.decode(errors='replace')}"
        return done.stdout.decode().strip()

    def commit(self, files: dict[str, str | bytes], message: str = "change") -> str:
        """Write `files` (and ops's public key in keys/admins/), commit signed, return the sha."""
        for relative, content in {**files, "keys/admins/ops.asc": self.ops.public}.items():
            target = self.path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        self.git("add", "-A")
        self.git("-c", f"user.signingkey={self.ops.fingerprint}", "commit", "-S", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def tree(self, commit: str) -> dict[str, str]:
        """sha256 of every file of `commit`, as a bundle of it must hold them."""
        names = self.git("ls-tree", "-r", "--name-only", commit).splitlines()
        show = lambda name: subprocess.run(["git", "-C", str(self.path), "show", f"{commit}:{name}"],  # noqa: E731
                                           capture_output=True, check=True).stdout  # fmt: skip
        return {name: hashlib.sha256(show(name)).hexdigest() for name in names}


def control_files(out: Path, content: str) -> dict[str, str | bytes]:
    manifest = f"resources:\n  - file: {out}/app.conf\n    content: {json.dumps(content)}\n"
    return {"hiera.yaml": HIERA, "data/common.yaml": "classes: [app]\n", "manifests/app.yaml": manifest}


class Agent:
    def __init__(self, state: Path, config: Path, origin: Origin):
        self.state, self.config = state, config
        config.write_text(
            f"source:\n  git: {origin.path}\n  branch: main\n  trusted_signers: [{origin.ops.fingerprint}]\n"
        )

    @property
    def bundles(self) -> Path:
        return self.state / "bundles"

    def argv(self, command: str, *args: str) -> list[str]:
        return tend_argv(command, "--config", str(self.config), "--state-dir", str(self.state), *args)

    def tend(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(command, *args), cwd=PROJECT, env=tend_env(), capture_output=True,
                              text=True, timeout=300)  # fmt: skip

    def current(self) -> str | None:
        link = self.bundles / "current"
        return os.readlink(link) if link.is_symlink() else None

    def tree(self, commit: str) -> dict[str, str]:
        base = self.bundles / commit
        return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(base.rglob("*")) if p.is_file()}  # fmt: skip

    def leftovers(self) -> list[str]:
        """Staging folders and temp links of interrupted pulls."""
        return sorted(p.name for p in self.bundles.iterdir() if p.name.startswith((".staging-", ".current.tend-")))


@dataclass
class World:
    origin: Origin
    agent: Agent
    out: Path


@pytest.fixture
def world(tmp_path: Path, ops: Signer) -> Iterator[World]:
    state = short_home("tf-s-")  # the agent keyring lives in it: keep it short
    out = tmp_path / "out"
    out.mkdir()
    origin = Origin(tmp_path / "origin", ops)
    try:
        yield World(origin, Agent(state, tmp_path / "agent.yaml", origin), out)
    finally:
        kill_gpg_agents(state / "gnupg")
        shutil.rmtree(state, ignore_errors=True)


def big_files(rng, count: int, size: int) -> dict[str, str | bytes]:
    return {f"files/blob{i:03d}.bin": rng.randbytes(size) for i in range(count)}


def test_a_pull_killed_at_random_points_keeps_a_whole_bundle(world: World, figures) -> None:
    """Each round starts from the first commit deployed (the mirror kept or not) and kills a pull of the second."""
    rng = rng_for("pull-kill")
    rounds = scaled(4, 40)
    agent = world.agent
    first = world.origin.commit(control_files(world.out, "one\n"))
    assert agent.tend("pull").returncode == 0
    second = world.origin.commit({**control_files(world.out, "two\n"), **big_files(rng, 200, 64 * 1024)})
    expected = {first: world.origin.tree(first), second: world.origin.tree(second)}
    started = time.monotonic()
    assert agent.tend("pull").returncode == 0
    duration = time.monotonic() - started  # delays are drawn from a whole pull of the big commit
    tally = {"kills": 0, "current_old": 0, "current_new": 0, "mirror_kept": 0}
    for _ in range(rounds):
        if agent.current() == second:  # back to the first commit, as if the big one had never come
            shutil.rmtree(agent.bundles / second)
            (agent.bundles / ".records" / f"{second}.json").unlink()
            os.unlink(agent.bundles / "current")
            os.symlink(first, agent.bundles / "current")
        if rng.random() < 0.5:
            shutil.rmtree(agent.bundles / ".mirror", ignore_errors=True)
        else:
            tally["mirror_kept"] += 1
        child = subprocess.Popen(agent.argv("pull"), cwd=PROJECT, env=tend_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(0.05, 1.0) * duration)
        child.send_signal(signal.SIGKILL)
        child.wait()
        tally["kills"] += child.returncode == -signal.SIGKILL
        current = agent.current()
        assert current in expected, f"seed {SEED}: current points to {current}"
        assert agent.tree(current) == expected[current], f"seed {SEED}: a partial bundle is current"
        tally["current_new" if current == second else "current_old"] += 1
    done = agent.tend("run")
    assert done.returncode == 0, done.stderr
    assert agent.current() == second
    assert agent.tree(second) == expected[second]
    assert (world.out / "app.conf").read_text() == "two\n"
    assert [p for p in agent.leftovers() if p != f".staging-{second}"] == []
    figures(rounds=rounds, pull_s=round(duration, 2), **tally)


def deploy_two(world: World) -> tuple[str, str]:
    """Two commits pulled and converged cleanly: both are good bundles, the second is current."""
    first = world.origin.commit(control_files(world.out, "one\n"))
    assert world.agent.tend("run").returncode == 0
    second = world.origin.commit(control_files(world.out, "two\n"))
    assert world.agent.tend("run").returncode == 0
    assert world.agent.current() == second
    return first, second


def break_current(world: World, how: str, commit: str) -> None:
    if how == "bundle-deleted":
        shutil.rmtree(world.agent.bundles / commit)
    elif how == "current-dangling":
        os.unlink(world.agent.bundles / "current")
        os.symlink("0" * 40, world.agent.bundles / "current")
    elif how == "current-missing":
        os.unlink(world.agent.bundles / "current")
    elif how == "bundle-emptied":
        (world.agent.bundles / commit / "hiera.yaml").unlink()


BREAKS = ["bundle-deleted", "current-dangling", "current-missing", "bundle-emptied"]


def test_a_broken_current_bundle_is_restored_by_the_next_run(world: World) -> None:
    _, second = deploy_two(world)
    for how in BREAKS:
        break_current(world, how, second)
        (world.out / "app.conf").write_text("by hand\n")
        done = world.agent.tend("run")
        assert done.returncode == 0, f"{how}: {done.stderr}"
        assert world.agent.current() == second, how
        assert world.agent.tree(second) == world.origin.tree(second), how
        assert (world.out / "app.conf").read_text() == "two\n", how


def test_a_restored_bundle_is_reported(world: World) -> None:
    _, second = deploy_two(world)
    break_current(world, "bundle-deleted", second)
    done = world.agent.tend("run")
    assert done.returncode == 0, done.stderr
    assert any(word in done.stderr for word in ("missing", "broken", "restor")), done.stderr


def test_a_broken_current_bundle_with_the_source_unreachable_falls_back(world: World) -> None:
    first, second = deploy_two(world)
    break_current(world, "bundle-deleted", second)
    world.origin.path.rename(world.origin.path.with_name("origin-gone"))
    (world.out / "app.conf").write_text("by hand\n")
    done = world.agent.tend("run")
    assert "nothing has been pulled yet" not in done.stderr
    assert world.agent.current() in (first, second)
    assert (world.out / "app.conf").read_text() in ("one\n", "two\n")


def test_a_broken_current_bundle_with_the_source_unreachable_fails_clearly(world: World) -> None:
    """Exit 1 with the pull's error shown; the bundle comes back from the mirror, never from a broken tree."""
    _, second = deploy_two(world)
    break_current(world, "bundle-deleted", second)
    expected = world.origin.tree(second)
    world.origin.path.rename(world.origin.path.with_name("origin-gone"))
    (world.out / "app.conf").write_text("by hand\n")
    done = world.agent.tend("run")
    assert done.returncode == 1
    assert "tend: pull: " in done.stderr and "Traceback" not in done.stderr
    assert world.agent.tree(second) == expected
    assert (world.out / "app.conf").read_text() == "two\n"


def test_a_corrupted_bundle_is_detected_and_restored(world: World) -> None:
    _, second = deploy_two(world)
    manifest = world.agent.bundles / second / "manifests" / "app.yaml"
    manifest.write_text(manifest.read_text().replace('"two\\n"', '"tampered\\n"'))
    done = world.agent.tend("run")
    assert (world.out / "app.conf").read_text() == "two\n", "the corrupted bundle was applied"
    assert world.agent.tree(second) == world.origin.tree(second)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("lock", ["refs/tend/main.lock", "shallow.lock", "packed-refs.lock"])
def test_a_git_lock_left_by_a_killed_pull_does_not_block_pulls(world: World, lock: str) -> None:
    """A fetch killed at the wrong moment leaves a git lock file in the mirror; under the run lock it is stale."""
    deploy_two(world)
    third = world.origin.commit(control_files(world.out, "three\n"))
    stale = world.agent.bundles / ".mirror" / lock
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("")
    done = world.agent.tend("pull")
    assert done.returncode == 0, done.stderr
    assert world.agent.current() == third


def test_leftovers_of_a_killed_pull_are_cleaned_by_the_next(world: World) -> None:
    first, _ = deploy_two(world)
    world.origin.commit(control_files(world.out, "three\n"))
    (world.agent.bundles / f".staging-{first[::-1]}").mkdir()  # a commit that the source has since left behind
    os.symlink("x", world.agent.bundles / ".current.tend-0a1b2c")
    assert world.agent.tend("pull").returncode == 0
    assert world.agent.leftovers() == []


def test_a_pull_killed_while_the_lock_is_held_leaves_the_lock_free(world: World) -> None:
    world.origin.commit(control_files(world.out, "one\n"))
    child = subprocess.Popen(world.agent.argv("pull"), cwd=PROJECT, env=tend_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    lock = world.agent.state / "lock"
    wait_for(lambda: lock.exists() and lock.read_text(), what="the pull to take the lock")
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert world.agent.tend("pull").returncode == 0
