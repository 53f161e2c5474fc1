"""The agent's own configuration: agent.yaml, its paths, and their overrides (TEND_* variables, flags)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.formats import Document, check_keys, did_you_mean, read_yaml_file
from agent.location import Location

DEFAULT_CONFIG = Path("/etc/tend/agent.yaml")
DEFAULT_STATE_DIR = Path("/var/lib/tend")
DEFAULT_FACTS_FILE = Path("/etc/tend/facts.yaml")
DEFAULT_FACTS_DIR = Path("/etc/tend/facts.d")
_KEYS = {
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
    "rollback_on": list,
}
ROLLBACK_ON = ("checks", "failures")  # what sends a new commit back to the last good bundle
_SOURCE_KEYS = {"git": str, "branch": str, "trusted_signers": list}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
    def lock(self) -> Path:
        return Path("/run/tend/lock") if self.root == DEFAULT_STATE_DIR else self.root / "lock"


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
    rollback_on: frozenset[str] = frozenset({"checks"})


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
    document = read_yaml_file(path, str(path), error=ConfigError)
    if document is None and explicit is not None:
        raise ConfigError("no such file", location=Location(str(path)))
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
        config_file=path if path.exists() else None,
        rollback_on=frozenset(raw.get("rollback_on", ["checks"])),
    )


def _validated(document: Document) -> dict[str, Any]:
    """agent.yaml's hash, each key known and of its type; every refusal names the line."""
    raw = document.value
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise document.fail("must be a hash of settings")
    check_keys(document, raw, allowed=_KEYS)
    for key, value in raw.items():
        if not isinstance(value, _KEYS[key]) or isinstance(value, bool):
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


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
