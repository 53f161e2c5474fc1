"""Telling an ENC[...] value in the data, and keeping one opaque."""

import pytest

from agent.data.encrypted import EncryptedValue, looks_encrypted
from agent.location import Location


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ENC[GPG,abc]", True),
        ("  \n ENC[GPG,abc]\n", True),
        ("ENC[PKCS7,abc]", True),
        ("ENC[", True),
        ("enc[GPG,abc]", False),
        ("password ENC[GPG,abc]", False),
        ("", False),
    ],
)
def test_looks_encrypted(text, expected):
    assert looks_encrypted(text) is expected


def test_an_encrypted_value_names_itself_and_never_shows_its_text():
    value = EncryptedValue("ENC[GPG,c2VjcmV0]", Location("hieradata/common.yaml", 3), "db::password")
    assert str(value) == repr(value) == "<secret: hieradata/common.yaml:db::password>"
    assert "c2VjcmV0" not in f"{value} {value!r}"
