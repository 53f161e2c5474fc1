"""The bundles on a host: bundles/<sha>/ checkouts, bundles/current, their records, and pruning."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from agent.system import files

_SHA = re.compile(r"^[0-9a-f]{40}$")
KEEP = 5
CURRENT = "current"
MIRROR = ".mirror"
RECORDS = ".records"
DEPLOYED = "deployed"  # in RECORDS: the commit `current` was last switched to, whatever is left on disk


@dataclass(frozen=True, slots=True)
class BundleRecord:
    commit: str
    signer: str
    pulled: str  # ISO time
    bad: bool = False  # never applied again (its checks failed, or an admin rolled back from it)
    good: str | None = None  # when it last converged cleanly (ISO time)
    sequence: int = 0  # the order of pulls on this host, which no clock step can disturb
    reason: str = ""  # why it is bad
    tree: str = ""  # digest of the checked-out files, to notice a bundle damaged on disk
    converged_since: str | None = None  # when this host first finished a clean converge of it (ISO time)

    def to_report(self) -> dict[str, str]:
        found = {"commit": self.commit, "signer": self.signer}
        return found | ({"converged_since": self.converged_since} if self.converged_since else {})


class BundleStore:
    """bundles/: the pulled commits, their records, `current`, the mirror.

    A store is used under the run lock, so a bundle's tree digest is computed once per store and kept (a
    `tend run` checks its bundle in the pull and again before the converge). `scan`, when given, looks at
    each file's content during that same read: the files it flags are `flagged(commit)` (the private-key
    scan of DESIGN §8.7, without a second read of the bundle).
    """

    def __init__(self, directory: Path, scan: Callable[[bytes], bool] | None = None):
        self.directory = directory
        self.scan = scan
        self._digests: dict[str, str] = {}
        self._flagged: dict[str, list[str]] = {}

    @property
    def mirror(self) -> Path:
        return self.directory / MIRROR

    def path(self, commit: str) -> Path:
        return self.directory / commit

    def current_commit(self) -> str | None:
        link = self.directory / CURRENT
        try:
            target = link.readlink()
        except OSError:
            return None
        commit = target.name
        return commit if (self.directory / commit / "hiera.yaml").is_file() else None

    def deployed_commit(self) -> str | None:
        """The commit last switched to, as recorded when it was (replay protection must not depend on
        bundles/<sha>/ or the `current` link still being there); else what `current` names."""
        try:
            commit = (self.directory / RECORDS / DEPLOYED).read_text().strip()
        except OSError:
            commit = ""
        if _SHA.match(commit):
            return commit
        try:
            target = (self.directory / CURRENT).readlink().name
        except OSError:
            return None
        return target if _SHA.match(target) else None

    def record(self, commit: str) -> BundleRecord | None:
        try:
            return BundleRecord(**json.loads((self.directory / RECORDS / f"{commit}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save_record(self, record: BundleRecord) -> None:
        directory = self.directory / RECORDS
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        files.write_atomic(directory / f"{record.commit}.json", json.dumps(asdict(record)).encode(), mode=0o600)

    def mark_good(self, commit: str, converged: str | None = None) -> None:
        """This bundle converged with no failure and its checks passed (at `converged`, ISO time): a place to
        roll back to. The first such time is kept as `converged_since`, the evidence a promotion reads."""
        record = self.record(commit)
        if record is not None:
            since = record.converged_since or converged or _now()
            self.save_record(replace(record, bad=False, good=_now(), reason="", converged_since=since))

    def mark_bad(self, commit: str, reason: str) -> None:
        """Never apply this commit again (until an admin's rollback asks for it)."""
        record = self.record(commit)
        if record is not None:
            self.save_record(replace(record, bad=True, good=None, reason=reason))

    def next_sequence(self) -> int:
        return max((r.sequence for r in self.history()), default=0) + 1

    def last_good(self, exclude: str | None = None) -> str | None:
        """Of the bundles that converged cleanly, the most recently pulled, other than `exclude`."""
        good = [r for r in self.history() if r.good and not r.bad and r.commit != exclude]
        return good[-1].commit if good else None

    def tree_digest(self, commit: str) -> str:
        """SHA-256 over every path, executable bit, file content and link target of bundles/<commit>, read
        afresh (and kept for `intact`)."""
        base = self.path(commit)
        digest = hashlib.sha256()
        flagged = []
        for directory, folders, names in os.walk(base):
            folders.sort()
            for name in sorted(names):
                path = Path(directory) / name
                relative = str(path.relative_to(base))
                digest.update(relative.encode() + b"\0")
                if path.is_symlink():
                    digest.update(b"L" + os.readlink(path).encode())
                else:
                    digest.update(b"X" if os.access(path, os.X_OK) else b"F")
                    data = path.read_bytes()
                    digest.update(hashlib.sha256(data).digest())
                    if self.scan is not None and self.scan(data):
                        flagged.append(relative)
        self._digests[commit] = digest.hexdigest()
        if self.scan is not None:
            self._flagged[commit] = sorted(flagged)
        return self._digests[commit]

    def flagged(self, commit: str) -> list[str] | None:
        """The files of bundles/<commit> that `scan` flagged when its digest was computed; None when it was
        not (or without a scan)."""
        return self._flagged.get(commit)

    def digest(self, commit: str) -> str:
        """The tree digest of bundles/<commit> as this store last read it (read now if it has not)."""
        return self._digests.get(commit) or self.tree_digest(commit)

    def intact(self, commit: str) -> bool:
        """The bundle is on disk as it was checked out."""
        record = self.record(commit)
        if record is None or not (self.path(commit) / "hiera.yaml").is_file():
            return False
        if not record.tree:
            return True
        return self.digest(commit) == record.tree

    def clean_leftovers(self) -> None:
        """What killed pulls leave: staging folders, temp links, git's lock files in the mirror."""
        if not self.directory.is_dir():
            return
        for leftover in self.directory.glob(".staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.directory.glob(f".{CURRENT}.tend-*"):
            leftover.unlink(missing_ok=True)
        if self.mirror.is_dir():
            for lock in [*self.mirror.glob("*.lock"), *self.mirror.glob("refs/**/*.lock")]:
                lock.unlink(missing_ok=True)

    def switch(self, commit: str) -> None:
        """Record `commit` as deployed, then point bundles/current at bundles/<commit> atomically (a symlink
        renamed over the old one)."""
        directory = self.directory / RECORDS
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        files.write_atomic(directory / DEPLOYED, f"{commit}\n".encode(), mode=0o600)
        files.symlink_atomic(commit, self.directory / CURRENT)

    def history(self) -> list[BundleRecord]:
        """Every bundle pulled and kept (its folder may be missing: restore() brings it back), oldest first."""
        folder = self.directory / RECORDS
        names = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        records = [self.record(name) for name in names if len(name) == 40]
        return sorted((r for r in records if r is not None), key=lambda r: (r.sequence, r.pulled))

    def prune(self, keep: int = KEEP) -> None:
        """Keep the newest `keep` bundles, and always the current one and the last good one."""
        kept = {self.current_commit(), self.last_good()}
        for record in self.history()[:-keep]:
            if record.commit not in kept:
                shutil.rmtree(self.path(record.commit), ignore_errors=True)
                (self.directory / RECORDS / f"{record.commit}.json").unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
