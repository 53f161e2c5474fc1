"""Local facts: the host's own YAML files, /etc/tend/facts.yaml then /etc/tend/facts.d/*.yaml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent import formats
from agent.errors import FactsError
from agent.facts.overlay import overlay
from agent.location import Location

if TYPE_CHECKING:
    from agent.formats import Document

FACTS_FILE = Path("/etc/tend/facts.yaml")
FACTS_DIR = Path("/etc/tend/facts.d")

# How the YAML a user wrote calls the Python types it loads to.
_KINDS = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}


def load_local_facts(
    facts_file: Path = FACTS_FILE, facts_dir: Path = FACTS_DIR, warn: Callable[[str], None] | None = None
) -> dict:
    """Return the facts of `facts_file`, then of each `*.yaml` in `facts_dir` by name, then (given `warn`, which
    takes their failures) of the executables there, deep-merged.

    A later file overrides the keys of an earlier one; missing files and a missing
    directory give no facts. A file that is not YAML, whose top level is not a
    mapping, or that writes a key twice, is a FactsError naming it and the line.
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
    text = formats.read_text(path, str(path), error=FactsError)
    return parse_facts(text, source=str(path)) if text is not None else {}


def parse_facts(text: str, *, source: str) -> dict:
    """Parse the YAML text of a facts file named `source` into its mapping of facts."""
    return _facts(formats.read_yaml(text, source, error=FactsError))  # YAML's parser imported only for a file


def _facts(document: Document) -> dict:
    data = document.value
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = _KINDS.get(type(data), type(data).__name__)
        raise document.fail(f"facts must be a mapping of names to values, not a {kind}")
    return data


def _dir_files(facts_dir: Path) -> list[Path]:
    try:
        return sorted(facts_dir.glob("*.yaml"), key=lambda path: path.name)
    except OSError as error:
        raise FactsError(f"cannot list: {error.strerror}", location=Location(str(facts_dir))) from error
