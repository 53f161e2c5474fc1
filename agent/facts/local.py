"""Local facts: the host's own YAML files, /etc/tend/facts.yaml then /etc/tend/facts.d/*.yaml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from agent.errors import FactsError
from agent.facts.overlay import overlay
from agent.location import Location

FACTS_FILE = Path("/etc/tend/facts.yaml")
FACTS_DIR = Path("/etc/tend/facts.d")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# How the YAML a user wrote calls the Python types it loads to.
_KINDS = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}


def load_local_facts(
    facts_file: Path = FACTS_FILE, facts_dir: Path = FACTS_DIR, warn: Callable[[str], None] | None = None
) -> dict:
    """Return the facts of `facts_file`, then of each `*.yaml` in `facts_dir` by name, then (given `warn`, which
    takes their failures) of the executables there, deep-merged.

    A later file overrides the keys of an earlier one; missing files and a missing
    directory give no facts. A file that is not YAML, or whose top level is not a
    mapping, is a FactsError naming it (and the line, for YAML errors).
    """
    facts: dict = {}
    for path in [facts_file, *_dir_files(facts_dir)]:
        facts = overlay(facts, load_facts_file(path))
    if warn is not None:
        from agent.facts.external import executable_facts  # not the other way: it parses YAML with this module

        facts = overlay(facts, executable_facts(facts_dir, warn))
    return facts


def load_facts_file(path: Path) -> dict:
    """Return the facts of one YAML file; a missing or empty file has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise FactsError(f"cannot read: {error.strerror}", location=Location(str(path))) from error
    except UnicodeDecodeError as error:
        raise FactsError("not UTF-8 text", location=Location(str(path))) from error
    return parse_facts(text, source=str(path))


def parse_facts(text: str, *, source: str) -> dict:
    """Parse the YAML text of a facts file named `source` into its mapping of facts."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        message = f"invalid YAML: {error.problem or error.context}"
        raise FactsError(message, location=Location(source, line)) from error
    except yaml.YAMLError as error:
        raise FactsError(f"invalid YAML: {error}", location=Location(source)) from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = _KINDS.get(type(data), type(data).__name__)
        raise FactsError(f"facts must be a mapping of names to values, not a {kind}", location=Location(source))
    return data


def _dir_files(facts_dir: Path) -> list[Path]:
    try:
        return sorted(facts_dir.glob("*.yaml"), key=lambda path: path.name)
    except OSError as error:
        raise FactsError(f"cannot list: {error.strerror}", location=Location(str(facts_dir))) from error
