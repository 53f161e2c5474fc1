"""Reading data files: line numbers, errors naming file and line, encrypted values kept opaque."""

from __future__ import annotations

import pytest

from agent.data.encrypted import EncryptedValue
from agent.data.yamlfile import parse_yaml_data
from agent.errors import DataError


def test_lines_and_values() -> None:
    data = parse_yaml_data("# c\na: 1\nb:\n  - x\n", "hieradata/common.yaml")
    assert data.data == {"a": 1, "b": ["x"]}
    assert data.line_of("a") == 2 and data.line_of("b") == 3


def test_encrypted_values_are_opaque_and_know_their_key() -> None:
    data = parse_yaml_data("db::password: >\n  ENC[GPG,hQEMA\n  abc]\nother:\n  - ENC[GPG,x]\n", "f.yaml")
    secret = data.data["db::password"]
    assert isinstance(secret, EncryptedValue)
    assert secret.key == "db::password" and secret.location.line == 1
    assert str(secret) == repr(secret) == "<secret: f.yaml:db::password>"
    assert "hQEMA" not in f"{secret} {secret!r}"
    assert isinstance(data.data["other"][0], EncryptedValue)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: [unclosed\n", 3, "Unable to parse YAML"),
        ("a: 1\n  b: 2\n", 2, "Unable to parse YAML"),
        ("- a\n- b\n", 1, "the top level must be a hash"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(DataError) as raised:
        parse_yaml_data(text, "hieradata/x.yaml")
    assert str(raised.value).startswith(f"hieradata/x.yaml:{line}: ")
    assert message in str(raised.value)


def test_empty_files_hold_no_keys() -> None:
    assert parse_yaml_data("", "e.yaml").data == {}
    assert parse_yaml_data("---\n", "e.yaml").data == {}


def test_a_key_written_twice_keeps_the_last_value_with_a_warning_naming_both_lines() -> None:
    """As Puppet reads data (DESIGN §8.10); it used to be an error."""
    data = parse_yaml_data("a: 1\nb:\n  c: x\n  c: y\na: 2\n", "hieradata/x.yaml")
    assert data.data == {"a": 2, "b": {"c": "y"}}
    assert data.line_of("a") == 5
    assert data.warnings == [
        "hieradata/x.yaml:4: duplicate key 'c' (first defined on line 3); the last value is used",
        "hieradata/x.yaml:5: duplicate key 'a' (first defined on line 1); the last value is used",
    ]


def test_strict_makes_a_key_written_twice_an_error() -> None:
    with pytest.raises(DataError) as raised:
        parse_yaml_data("a: 1\na: 2\n", "hieradata/x.yaml", strict=True)
    assert str(raised.value) == "hieradata/x.yaml:2: duplicate key 'a' (first defined on line 1)"


def test_an_encrypted_value_written_twice_keeps_the_last() -> None:
    data = parse_yaml_data("pw: ENC[GPG,old]\npw: ENC[GPG,new]\n", "f.yaml")
    secret = data.data["pw"]
    assert isinstance(secret, EncryptedValue) and secret.text == "ENC[GPG,new]" and secret.location.line == 2
    assert [d.first_line for d in data.duplicates] == [1]
