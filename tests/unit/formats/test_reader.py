"""The one YAML reader: values with their lines, duplicate keys by policy, and hostile input refused quickly."""

from __future__ import annotations

import re
import time
import tracemalloc
from datetime import date

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import ConfigError, DataError, FactsError, ManifestError, TendError
from agent.formats import MAX_DEPTH, Duplicates, read_yaml, read_yaml_file, read_yaml_nodes

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join([f'*{chr(96 + i)}'] * 9)}]\n" for i in range(1, 9)
)


def refusal(text: str, error: type[TendError] = ConfigError, **options: object) -> str:
    with pytest.raises(error) as raised:
        read_yaml(text, "f.yaml", error=error, **options)
    return str(raised.value)


def test_values_and_the_line_of_every_key_and_item() -> None:
    document = read_yaml("# c\na: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml", error=ConfigError)
    assert document.value == {"a": 1, "b": ["x", {"c": 2}]}
    assert [document.line("a"), document.line("b"), document.line("b", 1), document.line("b", 1, "c")] == [2, 3, 5, 5]
    assert document.line("nope") is None and document.line("b", 7) is None
    assert str(document.at("b", 1, "nope")) == "f.yaml:5"  # the nearest line around a path not written
    assert document.key_lines() == {"a": 2, "b": 3}


def test_merged_and_aliased_values_have_the_lines_they_were_written_on() -> None:
    text = "base: &b\n  x: 1\n  y: [1, 2]\nmine:\n  <<: *b\n  x: 2\nlist:\n  - *b\n  - &c {z: 3}\nlast: *c\n"
    document = read_yaml(text, "f.yaml", error=ConfigError)
    assert document.value["mine"] == {"x": 2, "y": [1, 2]} and document.value["list"][0] is document.value["base"]
    lines = [("mine", "x"), ("mine", "y"), ("mine", "y", 1), ("list", 0), ("list", 0, "y"), ("list", 1), ("last", "z")]
    assert [document.line(*path) for path in lines] == [6, 3, 3, 1, 3, 9, 9]
    assert document.key_lines("mine") == {"x": 6, "y": 3}


def test_a_large_document_is_read_without_a_tree_of_nodes() -> None:
    """PyYAML's node tree held three objects a value at once (15 times the text); the reader builds the
    values from the parser's events and keeps a line index instead."""
    item = '  - file: /srv/f{:05d}.conf\n    content: "{}"\n    mode: "0644"\n'
    text = "resources:\n" + "".join(item.format(n, f"line {n} " * 20) for n in range(2000))
    tracemalloc.start()
    try:
        document = read_yaml(text, "m.yaml", error=ManifestError)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(text)
    assert document.line("resources", 1999, "mode") == 1 + 3 * 2000
    assert document.value["resources"][1999]["file"] == "/srv/f01999.conf"


def test_the_node_tree_is_composed_only_for_a_document_that_passed_the_checks() -> None:
    document, node = read_yaml_nodes("a: 1\nb: [x]\n", "f.yaml", error=ConfigError)
    assert document.value == {"a": 1, "b": ["x"]} and isinstance(node, yaml.MappingNode)
    assert read_yaml_nodes("", "f.yaml", error=ConfigError)[1] is None
    with pytest.raises(ConfigError, match=r"^f\.yaml:6: aliases expand"):
        read_yaml_nodes(BOMB, "f.yaml", error=ConfigError)


def test_a_value_pyyaml_cannot_build_is_refused_as_it_refuses_it() -> None:
    """The first PyYAML's constructor meets: a hash or list is filled a round after it is made."""
    unable = "Unable to parse YAML:"
    assert refusal("? [a]\n: 1\n") == f"f.yaml:1: {unable} while constructing a mapping, found unhashable key"
    assert refusal("a: !!str [1]\n") == f"f.yaml:1: {unable} expected a scalar node, but found sequence"
    assert refusal("c: !!seq x\nd: <<\n").startswith(f"f.yaml:2: {unable} could not determine a constructor")
    assert refusal("c:\n  <<: 1\n").endswith("expected a mapping or list of mappings for merging, but found scalar")


def test_an_empty_document_has_no_value() -> None:
    for text in ("", "# only a comment\n", "---\n"):
        document = read_yaml(text, "f.yaml", error=ConfigError)
        assert document.value is None and document.duplicates == ()


def test_configuration_refuses_a_key_written_twice_naming_both_lines() -> None:
    assert refusal("a: 1\nb:\n  c: 1\n  c: 2\n") == "f.yaml:4: duplicate key 'c' (first defined on line 3)"


def test_data_takes_the_last_value_and_reports_both_lines() -> None:
    document = read_yaml("a: 1\nb: 2\na: 3\n", "d.yaml", error=DataError, duplicates=Duplicates.LAST)
    assert document.value == {"a": 3, "b": 2} and document.line("a") == 3
    assert [str(d) for d in document.duplicates] == ["d.yaml:3: duplicate key 'a' (first defined on line 1)"]


def test_merge_keys_are_not_duplicates() -> None:
    document = read_yaml("base: &b {x: 1, y: 1}\nmine:\n  <<: *b\n  x: 2\n", "f.yaml", error=ConfigError)
    assert document.value["mine"] == {"x": 2, "y": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BOMB, "f.yaml:6: aliases expand to more than 100,000 values (an alias bomb?)"),
        ("a: &a [1, *a]\n", "f.yaml:1: an alias refers to its own anchor (a structure that contains itself)"),
        (
            "a: 1\nb: &b\n  c:\n    - *b\n",
            "f.yaml:4: an alias refers to its own anchor (a structure that contains itself)",
        ),
        ("n: " + "9" * 5000 + "\n", "f.yaml:1: an integer of 5000 digits is too long (at most 100)"),
        ("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), f"f.yaml:1: nested more than {MAX_DEPTH} levels deep"),
        ("a: " + "[" * 5000 + "]" * 5000, "f.yaml:1: Unable to parse YAML: "),
        (
            "a: 1\nb: !!python/object/apply:os.system [id]\n",
            "f.yaml:2: unsupported tag '!!python/object/apply:os.system'",
        ),
        ("a: !vault x\n", "f.yaml:1: unsupported tag '!vault'"),
        ("a: !!binary aGk=\n", "f.yaml:1: unsupported tag '!!binary'"),
        ("a: 2024-13-45\n", "f.yaml:1: not a valid date or time: '2024-13-45'"),
        ("!!float\n", "f.yaml:1: not a valid float: ''"),
        ("a:\n  b: !!int abc\n", "f.yaml:2: not a valid int: 'abc'"),
        ("a: !!bool maybe\n", "f.yaml:1: not a valid bool: 'maybe'"),
        ("a: *nope\n", "f.yaml:1: Unable to parse YAML: found undefined alias"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2: Unable to parse YAML: expected a single document"),
        ("a: \x1f\n", "f.yaml:1: Unable to parse YAML: control characters are not allowed"),
    ],
)
def test_hostile_input_is_a_one_line_error_within_a_second(text: str, message: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        refused = refusal(text)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - started < 1.0
    assert peak < 64 * 2**20
    assert refused.startswith(message) and "\n" not in refused


def test_the_error_class_is_the_callers() -> None:
    assert refusal("a: [1\n", FactsError).startswith("f.yaml:2: Unable to parse YAML")


def test_plain_values_load_as_yaml_1_1_says() -> None:
    document = read_yaml("d: 2024-01-02\nb: yes\nf: 1.5\nn: ~\ns: !!str 3\n", "f.yaml", error=ConfigError)
    assert document.value == {"d": date(2024, 1, 2), "b": True, "f": 1.5, "n": None, "s": "3"}


def test_a_string_hook_turns_strings_into_other_values() -> None:
    seen: list[tuple[str, int, int]] = []

    def hook(value: str, line: int, column: int) -> object:
        seen.append((value, line, column))
        return value.upper()

    document = read_yaml("a: x\nb:\n  - y\n", "f.yaml", error=ConfigError, strings=hook)
    assert document.value == {"A": "X", "B": ["Y"]}
    assert ("y", 3, 4) in seen


def test_files_missing_unreadable_or_not_utf8(tmp_path) -> None:
    assert read_yaml_file(tmp_path / "none.yaml", "none.yaml", error=ConfigError) is None
    (tmp_path / "bad.yaml").write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(ConfigError, match=r"^bad\.yaml:2: not UTF-8 text: invalid start byte$"):
        read_yaml_file(tmp_path / "bad.yaml", "bad.yaml", error=ConfigError)
    with pytest.raises(ConfigError, match=r"^dir\.yaml: cannot read: "):
        read_yaml_file(tmp_path, "dir.yaml", error=ConfigError)


PIECES = st.sampled_from(
    ["a:", "- ", "&x", "*x", "&y [", "*y", "]", "{", "}", "<<: *x", "k: v", "k: v", "  ", "\n", "!!str", "!t",
     "!!python/name:os.system", "1" * 120, "2024-02-30", "? ", ": ", "'", '"', "#", "---"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=30))
def test_any_text_is_a_value_or_an_error_naming_the_file(pieces: list[str]) -> None:
    try:
        read_yaml("".join(pieces), "f.yaml", error=ConfigError, duplicates=Duplicates.LAST)
    except ConfigError as error:
        assert re.match(r"^f\.yaml(:\d+)?: ", str(error)), str(error)
