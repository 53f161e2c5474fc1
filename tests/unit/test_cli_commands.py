"""The command table of the entry point: a command line names one command and only its module builds a parser."""

from __future__ import annotations

import argparse

import pytest

from agent.cli.main import COMMANDS, build_parser, command_word


def _words(parser: argparse.ArgumentParser) -> list[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_the_table_names_every_command_each_module_registers_in_help_order():
    assert _words(build_parser()) == [word for words in COMMANDS.values() for word in words]


@pytest.mark.parametrize(("module", "words"), list(COMMANDS.items()))
def test_a_command_builds_only_its_own_module_parser(module: str, words: tuple[str, ...]):
    for word in words:
        assert _words(build_parser(word)) == list(words)


def test_an_unknown_command_builds_every_parser():
    assert _words(build_parser("nope")) == _words(build_parser())


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["apply", "--noop"], "apply"),
        (["--debug", "plan"], "plan"),
        (["--help", "apply"], None),  # the top-level help lists every command
        (["-h"], None),
        ([], None),
    ],
)
def test_the_command_word_is_the_first_argument_after_debug(argv: list[str], word: str | None):
    assert command_word(argv) == word
