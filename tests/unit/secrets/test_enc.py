import base64
import contextlib

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from agent.data.encrypted import looks_encrypted
from agent.errors import SecretError
from agent.location import Location
from agent.secrets.enc import format_enc, format_enc_block, parse_enc

MESSAGE = bytes(range(256)) * 3


def test_round_trip_one_line():
    text = format_enc(MESSAGE)
    assert text == "ENC[GPG," + base64.b64encode(MESSAGE).decode() + "]"
    assert "\n" not in text
    assert parse_enc(text) == MESSAGE


def test_whitespace_anywhere_is_ignored():
    text = format_enc(b"\x84\x5e\x03hello")
    spaced = " \n".join(text) + "\n"
    assert parse_enc(spaced) == b"\x84\x5e\x03hello"


def test_block_lines():
    lines = format_enc_block(MESSAGE)
    assert lines[0].startswith("ENC[GPG,")
    assert lines[-1].endswith("]")
    assert all(len(line) <= 60 for line in lines)
    assert all(len(line) == 60 for line in lines[:-1])
    assert "".join(lines) == format_enc(MESSAGE)


def test_block_of_a_short_message_is_one_line():
    assert format_enc_block(b"ab") == ["ENC[GPG,YWI=]"]


def test_block_width_must_be_positive():
    with pytest.raises(ValueError):
        format_enc_block(b"ab", width=0)


@pytest.mark.parametrize("indent", [2, 4, 6])
def test_yaml_folded_block_round_trip(indent):
    body = "".join(" " * indent + line + "\n" for line in format_enc_block(MESSAGE))
    document = "db::password: >\n" + body + "other: 1\n"
    value = yaml.safe_load(document)["db::password"]
    assert " " in value  # YAML folding joined the lines with spaces
    assert looks_encrypted(value)
    assert parse_enc(value) == MESSAGE


def test_yaml_folded_block_nested_in_a_mapping():
    body = "".join(f"    {line}\n" for line in format_enc_block(MESSAGE))
    value = yaml.safe_load("db:\n  password: >\n" + body)["db"]["password"]
    assert parse_enc(value) == MESSAGE


def test_eyaml_block_form_with_indented_continuation():
    # eyaml edit writes the block with the value indented under the key, and a trailing newline.
    text = format_enc(MESSAGE)
    value = yaml.safe_load("k: >\n    " + text[:30] + "\n    " + text[30:] + "\n")["k"]
    assert parse_enc(value) == MESSAGE


@given(st.binary(min_size=1, max_size=600), st.integers(min_value=1, max_value=120))
def test_block_round_trip_any_message(message, width):
    lines = format_enc_block(message, width=width)
    assert all(len(line) <= width for line in lines)
    assert parse_enc(" ".join(lines)) == message


def test_other_scheme_is_refused():
    with pytest.raises(SecretError) as info:
        parse_enc("ENC[PKCS7,MIIBiQYJKoZIhvcNAQcDoIIBejCCAXYCAQAxggEhMIIBHQIBADAFMAACAQEw]")
    assert str(info.value) == "unsupported encryption scheme 'PKCS7' (tend reads ENC[GPG,...])"


def test_value_without_scheme_is_eyamls_pkcs7():
    with pytest.raises(SecretError, match="unsupported encryption scheme 'PKCS7'"):
        parse_enc("ENC[MIIBiQYJKoZIhvcNAQcDoIIBejCCAXYCAQAxggEhMIIBHQIBADAFMAACAQEw]")


def test_odd_scheme_name_is_not_echoed():
    with pytest.raises(SecretError) as info:
        parse_enc("ENC[hunter2!,abcd]")
    assert "hunter2" not in str(info.value)
    assert "unsupported encryption scheme (malformed)" in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ENC[GPG,YWJj", "lacks its closing ']'"),
        ("ENC[GPG,YWJj]]", "unexpected text after the closing ']'"),
        ("ENC[GPG,YWJj] # comment", "unexpected text after the closing ']'"),
        ("ENC[GPG,]", "empty encrypted value"),
        ("ENC[GPG,YWJ]", "bad base64"),
        ("ENC[GPG,YW*j]", "bad base64"),
        ("ENC[GPG,YWJjé]", "bad base64"),
        ("ENC[GPG,YQ==YQ==]", "bad base64"),
        ("plain text", "not an encrypted value"),
        ("", "not an encrypted value"),
    ],
)
def test_malformed_values(text, message):
    with pytest.raises(SecretError, match=message):
        parse_enc(text)


def test_error_names_file_line_and_key():
    with pytest.raises(SecretError) as info:
        parse_enc("ENC[GPG,YWJj", location=Location("hieradata/common.yaml", 7), subject="db::password")
    assert str(info.value).startswith("hieradata/common.yaml:7: db::password: encrypted value lacks")


@given(st.text())
def test_arbitrary_text_raises_only_secret_error(text):
    with contextlib.suppress(SecretError):
        assert isinstance(parse_enc(text), bytes)


@given(st.text(alphabet="ENC[GPG,]=+/ \nAZaz09é*", max_size=40))
def test_near_miss_text_raises_only_secret_error(text):
    with contextlib.suppress(SecretError):
        parse_enc("ENC[GPG," + text)
