"""W3: a no-op run over 200 declared packages against this machine's real dpkg database.

Every package declared is installed already, so the run has nothing to do: what it costs is the check.
Figures: the whole run (compile the catalog, then check every package in noop mode) and the check alone
(the runner over a compiled catalog). Each repetition counts the processes tend spawned (agent.system's
command runner, wrapped for the benchmark) and how often the dpkg status file was read: the target is
one read and no process, however many packages. Baseline, in the same run: reading
/var/lib/dpkg/status in Python (open, read, split into stanzas). Nothing is ever installed or removed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import agent.system.commands as commands
from agent.catalog.compile import Compiler
from agent.catalog.graph import Catalog
from agent.providers import Providers
from agent.providers.apt import parse_dpkg_status
from agent.reports.model import Report, Status
from agent.runner.apply import Runner
from agent.runner.state import RunState
from agent.system import Root, System
from bench.measure import Result, Settings, compare, peak_rss_kib

NAME = "packages"
STATUS = Path("/var/lib/dpkg/status")
FULL, QUICK = 200, 20
HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"


def installed_names(count: int) -> list[str]:
    """`count` packages installed on this machine (sorted by name), from its dpkg database."""
    packages = parse_dpkg_status(STATUS.read_text(errors="replace"))
    return sorted(name for name, p in packages.items() if ":" not in name and p.installed)[:count]


def write_repo(folder: Path, names: list[str]) -> None:
    (folder / "data").mkdir()
    (folder / "manifests").mkdir()
    (folder / "hiera.yaml").write_text(HIERA)
    (folder / "data/c.yaml").write_text("classes: [packages]\n")
    (folder / "manifests/packages.yaml").write_text("resources:\n" + "".join(f"  - package: {n}\n" for n in names))


class Counter:
    """Counts the processes agent.system starts while it is installed (wraps commands.run)."""

    def __init__(self) -> None:
        self.spawned = 0
        self._real = commands.run

    def __enter__(self) -> Counter:
        def counting(*args: Any, **kwargs: Any) -> Any:
            self.spawned += 1
            return self._real(*args, **kwargs)

        commands.run = counting
        return self

    def __exit__(self, *exc: object) -> None:
        commands.run = self._real


def noop_run(catalog: Catalog, state_dir: Path) -> tuple[Report, int, int]:
    """Check every resource of `catalog` on this machine in noop mode: the report, processes spawned, status reads."""
    system = System(Root(Path("/")))
    providers = Providers(system)
    report = Report("bench", "bench", datetime.now(UTC), "noop")
    with Counter() as counter:
        Runner(catalog, system, RunState.load(state_dir / "state.json"), noop=True, providers=providers).run(report)
    apt = providers.get("package", {})
    return report, counter.spawned, apt.reads


def run(settings: Settings) -> list[Result]:
    if not STATUS.exists():
        return []
    names = installed_names(QUICK if settings.quick else FULL)
    with tempfile.TemporaryDirectory(prefix="tend-bench-") as directory:
        repo, state = Path(directory) / "repo", Path(directory) / "state"
        repo.mkdir()
        write_repo(repo, names)
        catalog, _ = Compiler(repo).compile({"hostname": "bench"})
        report = noop_run(catalog, state)[0]  # first, the check that the run really has nothing to do
        unchanged = sum(r.status is Status.UNCHANGED for r in report.resources)
        if unchanged != len(names):
            odd = next(r for r in report.resources if r.status is not Status.UNCHANGED)
            raise AssertionError(f"benchmark: {odd.id} is {odd.status} ({odd.error}), not unchanged")
        counts = _Counts()

        def whole() -> None:
            fresh, _ = Compiler(repo).compile({"hostname": "bench"})
            counts.add(*noop_run(fresh, state)[1:])

        def check_only() -> None:
            counts.add(*noop_run(catalog, state)[1:])

        results = [
            _figure(f"no-op run, {len(names)} packages (compile + check)", whole, counts, settings),
            _figure(f"check only, {len(names)} packages", check_only, counts, settings),
        ]
    return results


class _Counts:
    """Processes and status reads of every measured repetition: the note reports the largest."""

    def __init__(self) -> None:
        self.spawned: list[int] = []
        self.reads: list[int] = []

    def add(self, spawned: int, reads: int) -> None:
        self.spawned.append(spawned)
        self.reads.append(reads)

    def note(self) -> str:
        return f"per run: {max(self.spawned)} processes spawned, dpkg status read {max(self.reads)} time(s)"


def _figure(name: str, work: Callable[[], None], counts: _Counts, settings: Settings) -> Result:
    counts.spawned.clear()
    counts.reads.clear()
    timing, baseline = compare(work, _read_status, repeat=settings.repeat, warmup=settings.warmup)
    baseline_name = "reading /var/lib/dpkg/status in Python"
    return Result(NAME, name, "time", 1, timing, baseline, baseline_name, None, peak_rss_kib(), counts.note())


def _read_status() -> None:
    STATUS.read_text(errors="replace").split("\n\n")


def describe(settings: Settings) -> str:
    count = QUICK if settings.quick else FULL
    if not STATUS.exists():
        return f"skipped: no dpkg database ({STATUS}) on this machine"
    return f"{count} installed packages declared, a noop run on the real dpkg database (nothing changes)"
