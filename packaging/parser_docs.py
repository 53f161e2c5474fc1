"""Generates tend(1) and tend's bash completion from its argparse parser, so neither can go stale.

Usage: PYTHONPATH=. python3 packaging/parser_docs.py man|bash > FILE (the package build runs both).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Iterator

from agent import __version__
from agent.cli.main import build_parser

SUMMARY = "masterless configuration-management agent"
SECTIONS = {
    "EXIT STATUS": [
        ("0", "success: every resource ended in sync."),
        ("1", "an error, a failed resource, or a run that could not start or compile."),
        ("2, 4, 6", "with --detailed-exitcodes: changes, failures, both (0: no changes)."),
    ],
    "FILES": [
        ("/etc/tend/agent.yaml", "the source, interval, splay and trusted signer fingerprints (a conffile)."),
        ("/etc/tend/facts.yaml", "this host's local facts (role, environment, ...)."),
        ("/var/lib/tend/", "bundles, reports, state, the audit log; gnupg/ is the host's key, which purge keeps."),
        ("/usr/share/doc/tend/README.md", "the full documentation."),
    ],
}
SEE_ALSO = r"\fBsystemctl\fR(1), \fBgpg\fR(1), \fBgit\fR(1)"


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """(name, parser, help) of each sub-command of `parser`, in the order they were added."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += [
                (choice.dest, action.choices[choice.dest], choice.help or "") for choice in action._choices_actions
            ]
    return found


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """Every command below `parser`, depth first, as (words after `tend`, parser, help)."""
    for name, child, helptext in subcommands(parser):
        yield (*path, name), child, helptext
        yield from walk(child, (*path, name))


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options and positionals a user types (not --help, not the sub-command slot)."""
    hidden = (argparse._HelpAction, argparse._SubParsersAction)
    return [action for action in parser._actions if action.help != argparse.SUPPRESS and not isinstance(action, hidden)]


def usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=10_000)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip()


def roff(text: str) -> str:
    """Text escaped for roff: backslashes, hyphens as minus signs, and no line opening with a control character."""
    escaped = text.replace("\\", r"\e").replace("-", r"\-")
    return "\n".join(r"\&" + line if line[:1] in (".", "'") else line for line in escaped.splitlines())


def man_argument(action: argparse.Action) -> list[str]:
    if action.option_strings:
        names = ", ".join(rf"\fB{roff(option)}\fR" for option in action.option_strings)
        value = "" if action.nargs == 0 else rf" \fI{roff(action.metavar or action.dest.upper())}\fR"
        header = names + value
    else:
        header = rf"\fI{roff(action.metavar or action.dest)}\fR"
    helptext = argparse.HelpFormatter("tend")._expand_help(action) if action.help else ""
    if action.choices and not action.option_strings:
        helptext = f"one of {', '.join(map(str, action.choices))}. {helptext}".strip()
    return [".TP", header, roff(helptext)]


def man_page(parser: argparse.ArgumentParser, date: datetime.date) -> str:
    lines = [
        rf'.TH TEND 1 "{date:%Y-%m-%d}" "tend {roff(__version__)}" "User Commands"',
        ".ad l",
        ".SH NAME", rf"tend \- {roff(SUMMARY)}",
        ".SH SYNOPSIS", roff(usage(parser)),
        ".SH DESCRIPTION", roff(parser.description or ""),
        ".PP", r"Each command below takes \fB\-h\fR or \fB\-\-help\fR to print its own usage.",
        ".SH OPTIONS",
    ]  # fmt: skip
    for action in arguments(parser):
        lines += man_argument(action)
    lines.append(".SH COMMANDS")
    for path, child, helptext in walk(parser):
        lines += [".SS " + roff(" ".join(path)), ".PP", roff(usage(child)), ".PP", roff(helptext)]
        for action in arguments(child):
            lines += man_argument(action)
    for heading, entries in SECTIONS.items():
        lines.append(f".SH {heading}")
        for term, text in entries:
            lines += [".TP", rf"\fB{roff(term)}\fR", roff(text)]
    lines += [".SH SEE ALSO", SEE_ALSO]
    return "\n".join(lines) + "\n"


def bash_case(entries: dict[str, str], default: str = "") -> list[str]:
    arms = [f'        "{key}") echo "{value}" ;;' for key, value in entries.items() if value]
    return ['    case "$1" in', *arms, f'        *) echo "{default}" ;;', "    esac"]


def bash_completion(parser: argparse.ArgumentParser) -> str:
    """A completion function with the parser's words per command path, its options, and which options take values."""
    levels = [((), parser), *((path, child) for path, child, _ in walk(parser))]
    words, options, values = {}, {}, {}
    for path, level in levels:
        key = " ".join(path)
        positional = [str(c) for a in arguments(level) if not a.option_strings and a.choices for c in a.choices]
        words[key] = " ".join([name for name, _, _ in subcommands(level)] + positional)
        options[key] = " ".join(["-h", "--help"] + [o for a in arguments(level) for o in a.option_strings])
        for action in arguments(level):
            for option in action.option_strings if action.nargs != 0 else ():
                values[f"{key}:{option}"] = " ".join(map(str, action.choices or ())) or " "
    return "\n".join([
        "# bash completion for tend(1), generated from tend's argparse parser when the package was built.",
        "_tend_words() {", *bash_case(words), "}",
        "_tend_options() {", *bash_case(options), "}",
        "# The values an option takes (its choices; a blank: any value, file names), or nothing for a flag.",
        "_tend_values() {", *bash_case(values), "}",
        BASH_FUNCTION,
    ])  # fmt: skip


BASH_FUNCTION = r"""_tend() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path="" word i skip=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -n $skip ]]; then skip=""; continue; fi
        if [[ $word == -* ]]; then [[ -n $(_tend_values "$path:$word") ]] && skip=1; continue; fi
        [[ -n $(_tend_options "${path:+$path }$word") ]] && path=${path:+$path }$word
    done
    local values
    values=$(_tend_values "$path:$prev")
    if [[ $COMP_CWORD -gt 1 && -n $values ]]; then
        COMPREPLY=($(compgen -W "$values" -- "$cur"))
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_tend_options "$path")" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$(_tend_words "$path")" -- "$cur"))
    fi
}
complete -o bashdefault -o default -F _tend tend
"""


def main(argv: list[str]) -> int:
    if argv not in (["man"], ["bash"]):
        print("usage: parser_docs.py man|bash", file=sys.stderr)
        return 2
    parser = build_parser()
    if argv == ["bash"]:
        sys.stdout.write(bash_completion(parser))
        return 0
    epoch = os.environ.get("SOURCE_DATE_EPOCH")  # set by dpkg-buildpackage from the changelog: reproducible
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else datetime.datetime.now(datetime.UTC)
    sys.stdout.write(man_page(parser, when.date()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
