"""File formats every part of tend reads: one YAML reader and one key checker (above errors and locations only)."""

from agent.formats.compose import MAX_ALIAS_VALUES, MAX_DEPTH, MAX_INT_DIGITS
from agent.formats.document import Block, Document, DuplicateKey, Duplicates
from agent.formats.reader import read_text, read_yaml, read_yaml_file, read_yaml_nodes, yaml_error
from agent.formats.schema import check_keys, did_you_mean

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
