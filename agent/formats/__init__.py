"""File formats every part of tend reads: one YAML reader and one key checker (above errors and locations only).

Each name is imported from its module when first used, so that what reads no YAML (`did_you_mean` alone, or a
run whose inputs all come from the compile cache) never imports yaml.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.formats.compose import MAX_ALIAS_VALUES, MAX_DEPTH, MAX_INT_DIGITS
    from agent.formats.document import Block, Document, DuplicateKey, Duplicates
    from agent.formats.reader import read_yaml, read_yaml_file, read_yaml_nodes, yaml_error
    from agent.formats.schema import check_keys, did_you_mean
    from agent.formats.text import read_text

_MODULES = {
    "compose": ("MAX_ALIAS_VALUES", "MAX_DEPTH", "MAX_INT_DIGITS"),
    "document": ("Block", "Document", "DuplicateKey", "Duplicates"),
    "reader": ("read_yaml", "read_yaml_file", "read_yaml_nodes", "yaml_error"),
    "schema": ("check_keys", "did_you_mean"),
    "text": ("read_text",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "MAX_ALIAS_VALUES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "Block",
    "Document",
    "DuplicateKey",
    "Duplicates",
    "check_keys",
    "did_you_mean",
    "read_text",
    "read_yaml",
    "read_yaml_file",
    "read_yaml_nodes",
    "yaml_error",
]


def __getattr__(name: str) -> Any:
    """`name` from its module, imported now if it was not (then kept here)."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'agent.formats' has no attribute {name!r}")
    value = getattr(__import__(f"agent.formats.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value
