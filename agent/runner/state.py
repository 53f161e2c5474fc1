"""state.json: each resource's desired-state digest and last result (drift), refreshes still owed, and the
resources that held a secret when last recorded (their old content stays redacted in diffs and reports),
and the catalog of the last full apply (what undoing each resource needs) with the repository and host it
was for.

The file carries a format version. Loading upgrades an older file through `MIGRATIONS` in order, so an
upgraded host never takes its old state for damage. A file that cannot be read as a state of a known
version is damaged: it is moved aside (never deleted) and the run goes on without it, saying so.

Next to it, `state.desired.json` keeps the desired-state digests of the last full run with that run's
id, so that with state.json lost, drift can still be judged against that run's stored report.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import HostError
from agent.system import files

STATE_VERSION = 3
LEDGER = "state.desired.json"
LEDGER_VERSION = 1
IN_SYNC = ("unchanged", "changed")
_SORTED = json.JSONEncoder(sort_keys=True)


def _from_0(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 is the same layout without a version field."""
    return {**data, "version": 1}


def _from_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds `held_secret`. Version 1 did not say which resources held one: each recorded resource
    is taken to have, so no old content that may be secret is shown; the next full apply records the truth."""
    resources = data.get("resources", {})
    return {**data, "version": 2, "held_secret": sorted(resources) if isinstance(resources, dict) else []}


def _from_2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 records the last full apply's catalog: none yet, so nothing counts as dropped until one ran."""
    return {**data, "version": 3, "catalog": {}, "applied_for": None}


# MIGRATIONS[n] turns a state of version n into one of version n + 1; every entry has its test.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_0, 1: _from_1, 2: _from_2}


class Damaged(ValueError):
    """The content of a state file is no state this tend can read."""


@dataclass(frozen=True, slots=True)
class StateDamage:
    """A state file that could not be used: why, and where it was put (None when nothing may be written)."""

    path: Path
    reason: str
    moved_to: Path | None


class RunState:
    """What the previous runs left: read at the start, written atomically as the run goes.

    Digests are keyed (HMAC) with a per-host key kept next to the state (0600), so a digest of a
    desired state that holds a secret says nothing about the secret to whoever reads state.json.
    """

    def __init__(self, path: Path, key_path: Path):
        self.path = path
        self.key_path = key_path
        self.resources: dict[str, dict[str, Any]] = {}
        self.owed: dict[str, list[str]] = {}
        self.held: set[str] = set()  # resources whose recorded state held a secret
        # rid -> {type, title, undo, on_drop, requires}: each resource of the last full apply (and each dropped
        # one still kept), with the attributes that undo it; `applied_for` names that apply's repository and host.
        self.catalog: dict[str, dict[str, Any]] = {}
        self.applied_for: dict[str, str] | None = None
        self.damaged: StateDamage | None = None
        self.read_only = False
        self._key: bytes | None = None
        self._saved: bytes | None = None  # the sha256 of what save() last wrote

    @classmethod
    def load(cls, path: Path, *, read_only: bool = False, now: datetime | None = None) -> RunState:
        """`read_only` (noop): nothing is written, not even a first key, and a damaged file stays where it
        is; drift is then judged with the existing key, or not at all when there is none yet."""
        state = cls(path, path.with_name("state.key"))
        state.read_only = read_only
        try:
            data = upgrade(json.loads(path.read_bytes(), object_hook=Shared().loaded))
        except FileNotFoundError:
            return state
        except (OSError, ValueError) as error:
            reason = str(error) if isinstance(error, Damaged) else _why(error)
            aside = None if read_only else _set_aside(path, now or datetime.now(UTC))
            state.damaged = StateDamage(path, reason, aside)
            return state
        state.resources = data["resources"]
        state.owed = data["owed_refresh"]
        state.held = set(data["held_secret"])
        state.catalog = data["catalog"]
        state.applied_for = data["applied_for"]
        return state

    def digest(self, desired: dict[str, Any]) -> str:
        # Desired states are flat dicts of strings, numbers, booleans and None: repr is canonical for them.
        text = repr(sorted(desired.items())).encode()
        return hmac.new(self._secret_key(), text, hashlib.sha256).hexdigest()

    def _secret_key(self) -> bytes:
        if self._key is None:
            try:
                self._key = self.key_path.read_bytes()
            except FileNotFoundError:
                if self.read_only:
                    self._key = os.urandom(32)
                    return self._key
                self.key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                files.write_atomic(self.key_path, os.urandom(32), mode=0o600)
                self._key = self.key_path.read_bytes()
        return self._key

    def drifted(self, rid: str, digest: str, out_of_sync: bool) -> bool:
        """Changed behind tend's back: same desired state as last run, in sync then, out of sync now."""
        last = self.resources.get(rid)
        return bool(out_of_sync and last and last.get("desired") == digest and last.get("status") in IN_SYNC)

    def record(self, rid: str, digest: str, status: str, at: str, *, sensitive: bool) -> None:
        self.resources[rid] = {"desired": digest, "status": sys.intern(status), "at": at}  # one "unchanged" for all
        if sensitive:
            self.held.add(rid)
        else:
            self.held.discard(rid)

    def held_secret(self, rid: str) -> bool:
        """Whether the resource held a secret when last recorded: what is on the host now may be one."""
        return rid in self.held

    def owe(self, targets: list[str], source: str) -> None:
        for target in targets:
            sources = self.owed.setdefault(target, [])
            if source not in sources:
                sources.append(source)

    def settle(self, target: str) -> None:
        self.owed.pop(target, None)

    def forget(self, rid: str) -> None:
        """A resource no longer declared: its drift record goes (it is managed afresh if it comes back)."""
        self.resources.pop(rid, None)

    def record_catalog(self, catalog: dict[str, dict[str, Any]], applied_for: dict[str, str]) -> None:
        self.catalog, self.applied_for = catalog, applied_for

    def save(self) -> None:
        data = {
            "version": STATE_VERSION,
            "resources": self.resources,
            "owed_refresh": self.owed,
            "held_secret": sorted(self.held),
            "catalog": self.catalog,
            "applied_for": self.applied_for,
        }
        hashed = hashlib.sha256()

        def pieces() -> Iterator[bytes]:
            for piece in json_pieces(data):
                hashed.update(piece)
                yield piece

        # A run saves at several points; what it already wrote is not written again. The pieces go to the temp
        # file as they are made (never all of them at once), which is dropped when they turn out the same.
        if self._write(self.path, pieces(), unless=lambda: hashed.digest() == self._saved):
            self._saved = hashed.digest()

    def save_ledger(self, run_id: str, rids: Iterable[str]) -> None:
        """The desired-state digests of the resources run `run_id` recorded, kept apart from state.json."""
        desired = {rid: self.resources[rid]["desired"] for rid in rids if rid in self.resources}
        ledger = {"version": LEDGER_VERSION, "run_id": run_id, "desired": desired}
        self._write(self.path.with_name(LEDGER), json_pieces(ledger))

    def ledger(self) -> tuple[str, dict[str, str]] | None:
        """The last full run's id and desired-state digests, or None when there is no usable ledger."""
        try:
            data = json.loads(self.path.with_name(LEDGER).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != LEDGER_VERSION:
            return None
        run_id, desired = data.get("run_id"), data.get("desired")
        if not isinstance(run_id, str) or not isinstance(desired, dict) or not _strings(desired.values()):
            return None
        return run_id, desired

    def recall(self, desired: Mapping[str, str], statuses: Mapping[str, str]) -> int:
        """With state.json lost: take the last full run's digests and the statuses its report gives, so
        that drift is judged as that run left things. Returns how many resources were recalled."""
        for rid, digest in desired.items():
            if rid in statuses:
                self.resources[rid] = {"desired": digest, "status": statuses[rid]}
        return sum(1 for rid in desired if rid in statuses)

    def _write(self, path: Path, text: Iterable[bytes], unless: Callable[[], bool] | None = None) -> bool:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise HostError(f"cannot create the state directory: {error.strerror}", subject=str(path.parent)) from None
        return files.write_atomic(path, text, mode=0o600, unless=unless)


class Shared:
    """One object for each distinct status, type, undo map and requirement list of the state's records,
    which many resources repeat (every file of a directory: `{ensure: absent}`, the directory). They are
    never modified, only written and compared."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], Any] = {}

    def record(self, record: dict[str, Any]) -> dict[str, Any]:
        """`record` (a catalog record), its repeated values replaced by the shared ones."""
        record["type"] = sys.intern(record["type"])
        record["undo"] = self._one(record["undo"])
        record["requires"] = self._one(record["requires"])
        return record

    def loaded(self, value: dict[str, Any]) -> dict[str, Any]:
        """json's object_hook: each record shared as it is read, so that its copies are freed at once."""
        if type(value.get("status")) is str:
            value["status"] = sys.intern(value["status"])
        elif type(value.get("type")) is str and isinstance(value.get("requires"), list) and "undo" in value:
            self.record(value)
        return value

    def _one(self, value: Any) -> Any:
        if isinstance(value, list) and len(value) < 8 and all(type(v) is str for v in value):
            key: tuple[Any, ...] = ("list", *value)
        elif isinstance(value, dict) and len(value) < 8 and all(type(v) in _SCALARS for v in value.values()):
            key = ("dict", *((k, type(v), v) for k, v in value.items()))  # 1 and True are equal, not the same
        else:
            return value
        return self._seen.setdefault(key, value)


_SCALARS = frozenset([str, int, bool, type(None)])  # not float: 0.0 and -0.0 are equal, not the same


def json_pieces(data: Mapping[str, Any], records: int = 1000) -> Iterator[bytes]:
    """`json.dumps(data, sort_keys=True)`, encoded, in pieces: a big map a thousand records at a time, so
    that a state of many resources is never one string (and its bytes) at once."""
    yield b"{"
    for number, key in enumerate(sorted(data)):
        value = data[key]
        head = ("" if number == 0 else ", ") + json.dumps(key) + ": "
        if not isinstance(value, dict) or len(value) <= records:
            yield (head + _SORTED.encode(value)).encode()
            continue
        yield (head + "{").encode()
        items = sorted(value.items())
        for start in range(0, len(items), records):
            piece = _SORTED.encode(dict(items[start : start + records]))
            yield piece[1:-1].encode() if start == 0 else (", " + piece[1:-1]).encode()
        yield b"}"
    yield b"}"


def upgrade(data: Any) -> dict[str, Any]:
    """A parsed state file as the current version, through every migration after its own; Damaged if it
    is no state of a version this tend knows."""
    if not isinstance(data, dict):
        raise Damaged(f"a JSON {type(data).__name__} where a state object belongs")
    version = data.get("version", 0)
    if type(version) is not int or version < 0:
        raise Damaged(f"the format version {version!r} is not a version number")
    if version > STATE_VERSION:
        raise Damaged(f"format version {version} is newer than this tend reads ({STATE_VERSION})")
    while version < STATE_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    resources, owed = data.get("resources", {}), data.get("owed_refresh", {})
    if not isinstance(resources, dict) or not all(_record(r) for r in resources.values()):
        raise Damaged("'resources' is not a map of resource records")
    if not isinstance(owed, dict) or not all(isinstance(s, list) and _strings(s) for s in owed.values()):
        raise Damaged("'owed_refresh' is not a map of resource lists")
    held = data.get("held_secret", [])
    if not isinstance(held, list) or not _strings(held):
        raise Damaged("'held_secret' is not a list of resource ids")
    catalog, applied_for = data.get("catalog"), data.get("applied_for")
    if not isinstance(catalog, dict) or not all(_managed(r) for r in catalog.values()):
        raise Damaged("'catalog' is not a map of managed resources")
    if applied_for is not None and not (isinstance(applied_for, dict) and _strings(applied_for.values())):
        raise Damaged("'applied_for' is not a repository and host")
    return {"version": version, "resources": resources, "owed_refresh": owed, "held_secret": held,
            "catalog": catalog, "applied_for": applied_for}  # fmt: skip


def _record(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("desired"), str) and isinstance(value.get("status"), str)


def _managed(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("type"), str)
        and isinstance(value.get("title"), str)
        and isinstance(value.get("undo"), dict | None)
        and value.get("on_drop") in (None, "keep", "remove")
        and isinstance(value.get("requires"), list)
        and _strings(value["requires"])
    )


def _strings(values: Iterable[Any]) -> bool:
    return all(isinstance(v, str) for v in values)


def _why(error: OSError | ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(error, ValueError):
        return f"not JSON: {error}"
    return error.strerror or str(error)


def _set_aside(path: Path, now: datetime) -> Path:
    """Move a damaged state file to `<name>.damaged-<UTC time>` (a number added if that name is taken)."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while aside.exists() or aside.is_symlink():
        aside, number = path.with_name(f"{path.name}.damaged-{stamp}.{number}"), number + 1
    try:
        os.rename(path, aside)
    except OSError as error:
        raise HostError(
            f"cannot move the damaged state aside to {aside}: {error.strerror}", subject=str(path)
        ) from None
    return aside
