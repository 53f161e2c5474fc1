"""The agent's own configuration: agent.yaml, its paths, and their overrides (TEND_* variables, flags)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError
from agent.formats import check_keys, did_you_mean, read_text
from agent.location import Location

if TYPE_CHECKING:
    from agent.formats import Document

DEFAULT_CONFIG = Path("/etc/tend/agent.yaml")
DEFAULT_STATE_DIR = Path("/var/lib/tend")
DEFAULT_FACTS_FILE = Path("/etc/tend/facts.yaml")
DEFAULT_FACTS_DIR = Path("/etc/tend/facts.d")
_KEYS: dict[str, type | tuple[type, ...]] = {
    "source": dict,
    "interval": (str, int),
    "splay": (str, int),
    "facts": dict,
    "state_dir": str,
    "facts_file": str,
    "facts_dir": str,
    "report_retention": int,
    "apt": dict,
    "metrics_file": str,
    "windows": list,
    "watch": bool,
    "watch_budget": dict,
    "rollback_on": list,
}
ROLLBACK_ON = ("checks", "failures")  # what sends a new commit back to the last good bundle
_SOURCE_KEYS = {"git": str, "branch": str, "trusted_signers": list, "bind_branch": bool}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_BUDGET_KEYS = {"instances": int, "watches": int}
_WINDOW_KEYS = {"days": (str, list), "from": str, "to": str}
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class StatePaths:
    """Every path of the agent's state, all under one directory (§5)."""

    root: Path

    @property
    def gnupg(self) -> Path:
        return self.root / "gnupg"

    @property
    def bundles(self) -> Path:
        return self.root / "bundles"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def bucket(self) -> Path:
        return self.root / "bucket"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    @property
    def compile_cache(self) -> Path:
        return self.root / "cache"

    @property
    def lock(self) -> Path:
        return Path("/run/tend/lock") if self.root == DEFAULT_STATE_DIR else self.root / "lock"


@dataclass(frozen=True, slots=True)
class Window:
    """When runs may change the host: `days` (0 = Monday) from `start` to `end`, in minutes of host-local
    time; an `end` not after `start` crosses midnight, and the window belongs to the day it starts."""

    days: frozenset[int]
    start: int
    end: int

    def contains(self, moment: datetime) -> bool:
        minute, day = moment.hour * 60 + moment.minute, moment.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        return (day in self.days and minute >= self.start) or ((day - 1) % 7 in self.days and minute < self.end)


def windows_open(windows: tuple[Window, ...], moment: datetime) -> bool:
    """True when no windows are configured or `moment` (naive local time) lies in one."""
    return not windows or any(window.contains(moment) for window in windows)


def next_opening(windows: tuple[Window, ...], moment: datetime) -> datetime | None:
    """The first start of a window after `moment` (naive local time), within a week."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [
        midnight + timedelta(days=offset, minutes=window.start)
        for offset in range(8)
        for window in windows
        if (moment.weekday() + offset) % 7 in window.days
    ]
    return min((start for start in starts if start > moment), default=None)


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """agent.yaml as validated, with the overrides of the environment and the command line applied."""

    source: Mapping[str, Any] = field(default_factory=dict)
    interval_s: int = 1800
    splay_s: int = 0
    facts: Mapping[str, Any] = field(default_factory=dict)
    state: StatePaths = StatePaths(DEFAULT_STATE_DIR)
    facts_file: Path = DEFAULT_FACTS_FILE
    facts_dir: Path = DEFAULT_FACTS_DIR
    report_retention: int = 100
    apt: Mapping[str, Any] = field(default_factory=dict)
    apt_lists_max_age_s: int = 3600
    metrics_file: Path | None = None
    config_file: Path | None = None
    windows: tuple[Window, ...] = ()
    watch: bool = False
    watch_budget: tuple[int | None, int | None] = (None, None)  # inotify instances and watches (agent.yaml)
    gpg_jobs: int | None = None  # gpg processes decrypting at once (TEND_GPG_JOBS); None: one per CPU
    rollback_on: frozenset[str] = frozenset({"checks"})
    compile_cache: bool = True  # compiles kept under the state directory (§8.19); --no-cache turns it off

    def decrypt_jobs(self) -> int:
        return self.gpg_jobs or len(os.sched_getaffinity(0))


def parse_duration(value: Any, where: Location, name: str) -> int:
    """`30m`, `2h`, `90` (seconds) → seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"{name}: {value!r} is not a duration (like 90, 30s, 30m, 2h)", location=where)
    return int(match.group(1)) * _UNITS[match.group(2)]


def load_settings(
    config: Path | None = None, *, state_dir: Path | None = None, environ: Mapping[str, str] = os.environ
) -> AgentSettings:
    """Read agent.yaml (a missing default file is fine: the defaults apply) and apply overrides."""
    explicit = config or (Path(environ["TEND_CONFIG"]) if environ.get("TEND_CONFIG") else None)
    path = explicit or DEFAULT_CONFIG
    text = read_text(path, str(path), error=ConfigError)
    if text is None and explicit is not None:
        raise ConfigError("no such file", location=Location(str(path)))
    document = _parsed(text, str(path)) if text else None  # an empty file (/dev/null) sets nothing
    raw = _validated(document) if document is not None else {}
    source = raw.get("source", {})

    def at(key: str) -> Location:
        return document.at(key) if document is not None else Location(str(path))

    state_root = state_dir or _path(environ.get("TEND_STATE_DIR")) or _path(raw.get("state_dir")) or DEFAULT_STATE_DIR
    return AgentSettings(
        source=source,
        interval_s=parse_duration(raw.get("interval", 1800), at("interval"), "interval"),
        splay_s=parse_duration(raw.get("splay", 0), at("splay"), "splay"),
        facts=raw.get("facts", {}),
        state=StatePaths(state_root.absolute()),
        facts_file=_path(environ.get("TEND_FACTS_FILE")) or _path(raw.get("facts_file")) or DEFAULT_FACTS_FILE,
        facts_dir=_path(environ.get("TEND_FACTS_DIR")) or _path(raw.get("facts_dir")) or DEFAULT_FACTS_DIR,
        report_retention=raw.get("report_retention", 100),
        apt=raw.get("apt", {}),
        apt_lists_max_age_s=parse_duration(raw.get("apt", {}).get("lists_max_age", 3600), at("apt"), "apt"),
        metrics_file=_path(raw.get("metrics_file")),
        windows=_windows(document, raw.get("windows")) if document is not None else (),
        config_file=path if path.exists() else None,
        watch=raw.get("watch", False),
        watch_budget=_watch_budget(document, raw.get("watch_budget")) if document is not None else (None, None),
        gpg_jobs=_jobs(environ.get("TEND_GPG_JOBS")),
        rollback_on=frozenset(raw.get("rollback_on", ["checks"])),
    )


def _parsed(text: str, source: str) -> Document:
    from agent.formats import read_yaml  # only for a file with something in it: a run without imports no parser

    return read_yaml(text, source, error=ConfigError)


def _validated(document: Document) -> dict[str, Any]:
    """agent.yaml's hash, each key known and of its type; every refusal names the line."""
    raw = document.value
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise document.fail("must be a hash of settings")
    check_keys(document, raw, allowed=_KEYS)
    for key, value in raw.items():
        if not isinstance(value, _KEYS[key]) or (isinstance(value, bool) and _KEYS[key] is not bool):
            raise document.fail(f"'{key}' has the wrong type ({type(value).__name__})", key)
    source = raw.get("source", {})
    check_keys(document, source, ("source",), allowed=_SOURCE_KEYS, prefix="source: ")
    for key, value in source.items():
        if not isinstance(value, _SOURCE_KEYS[key]):
            raise document.fail(f"source: '{key}' has the wrong type", "source", key)
    for index, reason in enumerate(raw.get("rollback_on", [])):
        if reason not in ROLLBACK_ON:
            hint = did_you_mean(str(reason), ROLLBACK_ON) or f" (known: {', '.join(ROLLBACK_ON)})"
            raise document.fail(f"rollback_on: unknown reason {reason!r}{hint}", "rollback_on", index)
    return raw


def _windows(document: Document, windows: list[Any] | None) -> tuple[Window, ...]:
    """`windows: [{days: mon-fri, from: "09:00", to: "17:00"}, …]`, each refusal at its line."""
    if windows is None:
        return ()
    if not windows:
        raise document.fail("windows: empty; leave 'windows' out to let runs change the host at any time", "windows")
    parsed = []
    for index, window in enumerate(windows):
        where = ("windows", index)
        if not isinstance(window, dict):
            raise document.fail("windows: each window is a hash of days, from and to", *where)
        check_keys(document, window, where, allowed=_WINDOW_KEYS, required=_WINDOW_KEYS, prefix="windows: ")
        start = _clock_time(document, window["from"], (*where, "from"))
        end = _clock_time(document, window["to"], (*where, "to"), end=True)
        if start == end:
            raise document.fail("windows: 'from' and 'to' are the same time (a whole day is 00:00 to 24:00)", *where)
        parsed.append(Window(_days(document, window["days"], (*where, "days")), start, end))
    return tuple(parsed)


def _watch_budget(document: Document, budget: dict[str, Any] | None) -> tuple[int | None, int | None]:
    """`watch_budget: {instances: 16, watches: 8192}`: at most that many inotify instances and watches."""
    if budget is None:
        return None, None
    check_keys(document, budget, ("watch_budget",), allowed=_BUDGET_KEYS, prefix="watch_budget: ")
    for key, value in budget.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise document.fail(f"watch_budget: '{key}' must be a whole number of at least 1", "watch_budget", key)
    return budget.get("instances"), budget.get("watches")


def _clock_time(document: Document, value: Any, where: tuple[Any, ...], *, end: bool = False) -> int:
    """`"17:00"` as minutes after midnight (`"24:00"` as an end)."""
    if isinstance(value, str) and end and value.strip() == "24:00":
        return 1440
    match = _CLOCK_TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        hint = " (quote it: YAML reads 17:00 unquoted as a number)" if isinstance(value, int) else ""
        raise document.fail(f"windows: '{where[-1]}' must be a time like \"09:00\"{hint}", *where)
    return int(match.group(1)) * 60 + int(match.group(2))


def _days(document: Document, value: Any, where: tuple[Any, ...]) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `*`, `fri-mon` (a range may wrap), or a list of them."""
    parts = [
        p.strip().lower() for item in (value if isinstance(value, list) else [value]) for p in str(item).split(",")
    ]
    days: set[int] = set()
    for part in parts:
        if part == "*":
            days.update(range(7))
            continue
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            names = ", ".join(DAY_NAMES)
            raise document.fail(f"windows: days: {part!r} is not a day or range of days ({names}, *)", *where)
        low, high = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        days.update((low + offset) % 7 for offset in range((high - low) % 7 + 1))
    if not days:
        raise document.fail("windows: days: no day given (like mon-fri, sat,sun or *)", *where)
    return frozenset(days)


def _jobs(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"TEND_GPG_JOBS: {value!r} is not a positive whole number (gpg processes at once)")
    return int(value)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
