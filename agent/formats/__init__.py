"""File formats every part of tend reads: one YAML reader and one key checker (above errors and locations only)."""

from agent.formats.document import Document, DuplicateKey, Duplicates
from agent.formats.reader import (
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    read_text,
    read_yaml,
    read_yaml_file,
    yaml_error,
)
from agent.formats.schema import check_keys, did_you_mean

__all__ = [
    "MAX_ALIAS_VALUES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "Document",
    "DuplicateKey",
    "Duplicates",
    "check_keys",
    "did_you_mean",
    "read_text",
    "read_yaml",
    "read_yaml_file",
    "yaml_error",
]
