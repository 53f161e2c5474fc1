"""Executable facts: programs in facts.d whose output (YAML, JSON or key=value lines) gives facts (DESIGN §8.15).

One runs only when root owns it and neither group nor others may write it; each runs with a timeout,
and its failure is a host fault naming it (the run exits 1, no commit is marked bad). They are run once per process.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import yaml

from agent.errors import FactsError, HostError
from agent.facts.local import parse_facts
from agent.facts.overlay import overlay
from agent.system import commands

TIMEOUT_S = 30.0
_gathered: dict[Path, dict] = {}


def executable_facts(facts_dir: Path, warn: Callable[[str], None]) -> dict:
    """The facts of the executables in `facts_dir` by name, merged; run once per process for a folder."""
    if facts_dir not in _gathered:
        facts: dict = {}
        for path in _executables(facts_dir):
            facts = overlay(facts, _run(path, warn))
        _gathered[facts_dir] = facts
    return _gathered[facts_dir]


def _executables(facts_dir: Path) -> list[Path]:
    try:
        entries = sorted(facts_dir.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    found = []
    for path in entries:
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111 and not path.name.endswith((".yaml", ".yml")):
            found.append(path)
    return found


def _run(path: Path, warn: Callable[[str], None]) -> dict:
    st = path.lstat()
    if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        warn(f"{path}: facts executable not run: it must be owned by root and not writable by group or others")
        return {}
    if os.geteuid() != 0 and not os.access(path, os.X_OK):
        warn(f"{path}: facts executable not run: not executable by this user")
        return {}
    # A failure is a host fault (DESIGN §8.2): facts missing would place the host wrongly in the hierarchy.
    try:
        result = commands.run([str(path)], timeout=TIMEOUT_S, cwd="/")
    except HostError as error:
        raise FactsError(f"facts executable failed to start: {error}", subject=str(path)) from None
    if result.timed_out:
        raise FactsError(f"facts executable killed after {TIMEOUT_S:g} s", subject=str(path))
    if not result.ok:
        raise FactsError(f"facts executable failed: {result.failure()}", subject=str(path))
    try:
        return parse_output(result.stdout.decode("utf-8"), source=str(path))
    except (FactsError, UnicodeDecodeError) as error:
        raise FactsError(f"facts executable gave no facts: {error}", subject=str(path)) from None


def parse_output(text: str, *, source: str) -> dict:
    """A mapping from JSON, from `key=value` lines, or from YAML, whichever the text is."""
    stripped = text.strip()
    if not stripped:
        return {}
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(data, dict):
                return data
    lines = [line for line in stripped.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if all("=" in line and ":" not in line.split("=", 1)[0] for line in lines):
        return {key.strip(): value.strip() for key, value in (line.split("=", 1) for line in lines)}
    try:
        return parse_facts(stripped, source=source)
    except yaml.YAMLError as error:
        raise FactsError(f"not YAML, JSON or key=value lines: {error}") from error
