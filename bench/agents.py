"""The programs W1, W2, W11, W12 and the empty run measure, each in its own work folder: tend, the floor, cf-agent,
puppet.

Each converges ROOT/srv/bench to the same desired state, either W1/W2's generated files (bench/fileset.py) or a
`Desired` (bench/editset.py, bench/treeset.py: it also seeds the host's files and says what a stray is), and
keeps all its state in its work folder: tend its --state-dir, cf-agent its work directory
(CFENGINE_TEST_OVERRIDE_WORKDIR, made once with cf-key), puppet its confdir, vardir, codedir, logdir and rundir.
`reset()` makes a new host: the managed folder as a first run finds it (gone, or seeded) and the state gone.
`codes[scenario]` are the exit statuses a correct run has.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from bench import fileset
from bench.fileset import ManagedFile
from bench.process import Sample, run_child, tend_command

FIRST, NOOP, DRIFT, EMPTY = "first run", "no-op run", "drift run", "empty catalog"
PURGE = "purge run"  # a no-op but for strays left in the purged directory
DETAILED = {FIRST: (2,), NOOP: (0,), DRIFT: (2,), EMPTY: (0,), PURGE: (2,)}  # --detailed-exitcodes


class Desired(Protocol):
    """A desired state other than W1/W2's files, written in each agent's language (the paths absolute, under
    ROOT for cf-agent and puppet, under --root for tend)."""

    def seed(self, managed: Path) -> None:
        """Put the host's files as a first run finds them in `managed` (gone before)."""

    def write_tend(self, repo: Path) -> None: ...

    def write_cfengine(self, folder: Path, managed: Path) -> None: ...

    def write_puppet(self, folder: Path, managed: Path) -> None: ...

    def stray(self, managed: Path) -> None:
        """Leave in `managed` what a purge run has to remove."""

    def verify(self, managed: Path, what: str) -> None:
        """Raise unless `managed` is converged (the work asked for was done)."""


class Agent:
    name = "agent"
    codes: Mapping[str, tuple[int, ...]] = DETAILED

    def __init__(self, workdir: Path, env: Mapping[str, str]):
        self.workdir = workdir
        self.env = dict(env)
        self.root = workdir / "root"
        self.files: list[ManagedFile] | None = None
        self.desired: Desired | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def managed(self) -> Path:
        return self.root / fileset.MANAGED_DIR

    def prepare(self, files: list[ManagedFile] | None, *, template: bool = False) -> None:
        """Write this agent's description of the desired state (None: the empty catalog)."""
        self.files, self.desired = files, None
        (self.root / "srv").mkdir(parents=True, exist_ok=True)

    def prepare_desired(self, desired: Desired) -> None:
        """Write this agent's description of `desired` (its own folders as prepare() makes them)."""
        self.files, self.desired = None, desired
        (self.root / "srv").mkdir(parents=True, exist_ok=True)
        self.write_desired(desired)

    def write_desired(self, desired: Desired) -> None:
        raise NotImplementedError(f"{self.name} has no policy for {type(desired).__name__}")

    def reset(self) -> None:
        shutil.rmtree(self.managed, ignore_errors=True)
        if self.desired is not None:
            self.desired.seed(self.managed)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def cwd(self) -> Path | None:
        return None

    def run(self, scenario: str) -> Sample:
        return run_child(self.argv(), env=self.env, cwd=self.cwd(), expect=self.codes[scenario])

    def verify(self, scenario: str) -> None:
        if self.files is not None:
            fileset.verify(self.managed, self.files, f"{self.name}, {scenario}")
        elif self.desired is not None:
            self.desired.verify(self.managed, f"{self.name}, {scenario}")


class Tend(Agent):
    name = "tend"

    def prepare(self, files: list[ManagedFile] | None, *, template: bool = False) -> None:
        super().prepare(files, template=template)
        shutil.rmtree(self.workdir / "repo", ignore_errors=True)
        fileset.write_tend_repo(self.workdir / "repo", files, template=template)

    def write_desired(self, desired: Desired) -> None:
        shutil.rmtree(self.workdir / "repo", ignore_errors=True)
        desired.write_tend(self.workdir / "repo")

    def reset(self) -> None:
        super().reset()
        shutil.rmtree(self.workdir / "state", ignore_errors=True)

    def argv(self) -> list[str]:
        w = self.workdir
        return [
            *tend_command(), "apply", "--repo", str(w / "repo"), "--root", str(self.root),
            "--state-dir", str(w / "state"), "--host", fileset.HOST, "--detailed-exitcodes",
        ]  # fmt: skip


class Floor(Agent):
    """bench/floor.py on the same files: what the interpreter and the file system alone cost."""

    name = "floor"

    def prepare(self, files: list[ManagedFile] | None, *, template: bool = False) -> None:
        super().prepare(files, template=template)
        spec = {
            "directory": str(self.managed),
            "mode": fileset.MODE,
            "files": {f.name: f.content for f in files or []},
        }
        (self.workdir / "spec.json").write_text(json.dumps(spec))

    def argv(self) -> list[str]:
        return [sys.executable, str(Path(__file__).with_name("floor.py")), str(self.workdir / "spec.json")]


class CfAgent(Agent):
    """`cf-agent -K -f ./promises.cf`: no locks, a standalone policy, its work directory in the work folder."""

    name = "cf-agent"
    codes = {FIRST: (0,), NOOP: (0,), DRIFT: (0,), EMPTY: (0,), PURGE: (0,)}

    def __init__(self, workdir: Path, env: Mapping[str, str]):
        super().__init__(workdir, env)
        self.state = workdir / "cfwork"
        self.template_state = workdir / "cfwork.new"
        self.env["CFENGINE_TEST_OVERRIDE_WORKDIR"] = str(self.state)
        if not self.template_state.exists():
            (self.template_state / "bin").mkdir(parents=True)
            # cf-agent validates a changed policy with cf-promises from its work directory's bin/.
            (self.template_state / "bin/cf-promises").symlink_to(shutil.which("cf-promises") or "/usr/bin/cf-promises")
            key_env = {**self.env, "CFENGINE_TEST_OVERRIDE_WORKDIR": str(self.template_state)}
            run_child([shutil.which("cf-key") or "cf-key"], env=key_env)
        self.reset()

    def prepare(self, files: list[ManagedFile] | None, *, template: bool = False) -> None:
        super().prepare(files, template=template)
        shutil.rmtree(self.workdir / "policy", ignore_errors=True)
        fileset.write_cfengine(self.workdir / "policy", self.root, files, template=template)

    def write_desired(self, desired: Desired) -> None:
        shutil.rmtree(self.workdir / "policy", ignore_errors=True)
        desired.write_cfengine(self.workdir / "policy", self.managed)

    def reset(self) -> None:
        super().reset()
        shutil.rmtree(self.state, ignore_errors=True)
        shutil.copytree(self.template_state, self.state, symlinks=True)

    def argv(self) -> list[str]:
        return [shutil.which("cf-agent") or "cf-agent", "-K", "-f", "./promises.cf"]

    def cwd(self) -> Path:
        return self.workdir / "policy"


class Puppet(Agent):
    """`puppet apply` of an equivalent manifest, every puppet directory in the work folder."""

    name = "puppet"

    def prepare(self, files: list[ManagedFile] | None, *, template: bool = False) -> None:
        super().prepare(files, template=template)
        shutil.rmtree(self.workdir / "manifest", ignore_errors=True)
        fileset.write_puppet(self.workdir / "manifest", self.root, files, template=template)

    def write_desired(self, desired: Desired) -> None:
        shutil.rmtree(self.workdir / "manifest", ignore_errors=True)
        desired.write_puppet(self.workdir / "manifest", self.managed)

    def reset(self) -> None:
        super().reset()
        shutil.rmtree(self.workdir / "puppet", ignore_errors=True)

    def argv(self) -> list[str]:
        p = self.workdir / "puppet"
        folders = [f"--{name}={p / name}" for name in ("confdir", "vardir", "codedir", "logdir", "rundir")]
        modules = self.workdir / "manifest/modules"
        return [
            shutil.which("puppet") or "puppet", "apply", "--color=false", "--detailed-exitcodes", *folders,
            f"--modulepath={modules}", str(self.workdir / "manifest/site.pp"),
        ]  # fmt: skip


PEERS = {"cf-agent": (CfAgent, "cf-agent", "cfengine3"), "puppet": (Puppet, "puppet", "puppet")}
