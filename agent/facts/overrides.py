"""Fact overrides from the command line: `--fact KEY=VALUE`, VALUE read as YAML, KEY dotted for nesting."""

from __future__ import annotations

from typing import Any

from agent import formats
from agent.errors import FactsError
from agent.facts.overlay import overlay


def parse_fact_overrides(items: list[str]) -> dict:
    """Return the facts that `--fact` arguments set, a later argument overriding an earlier one.

    `count=3` sets an int, `debug=true` a bool, `name=web1` a string, `x=` an empty
    string and `roles=[a, b]` a list; `os.family=RedHat` sets `family` inside `os`.
    """
    facts: dict = {}
    for item in items:
        facts = overlay(facts, parse_fact_override(item))
    return facts


def parse_fact_override(item: str) -> dict:
    """Return the nested facts one `KEY=VALUE` argument sets."""
    key, sep, raw = item.partition("=")
    if not sep:
        raise FactsError(f"--fact '{item}': expected KEY=VALUE, e.g. --fact role=web")
    path = key.strip().split(".")
    if not all(path):
        raise FactsError(f"--fact '{item}': the key must be a name or dotted names, e.g. os.family=Debian")
    nested: dict[str, Any] = {path[-1]: _parse_value(item, raw)}
    for name in reversed(path[:-1]):
        nested = {name: nested}
    return nested


def _parse_value(item: str, raw: str) -> Any:
    if not raw.strip():
        return ""
    try:
        return formats.read_yaml(raw, f"--fact '{item}'", error=FactsError).value
    except FactsError as error:
        problem = error.message.removeprefix("Unable to parse YAML: ")
        raise FactsError(
            f"--fact '{item}': the value is not valid YAML ({problem}); quote it to pass a string, "
            f"e.g. --fact '{item.partition('=')[0]}=\"...\"'"
        ) from None
