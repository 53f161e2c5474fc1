"""HostSecrets.prefetch with real gpg: values decrypted ahead are handed out and recorded as the compile asks for
them, a failure surfaces where the value is used, and what was decrypted but never used is still recorded."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agent.data.encrypted import EncryptedValue
from agent.errors import SecretError
from agent.location import Location
from agent.secrets.gpg import GnuPG
from agent.secrets.reader import HostSecrets


def value(gpg, keys, key: str, plaintext: str, *, corrupt: bool = False) -> EncryptedValue:
    message = gpg("--encrypt", "--recipient", keys["web1"].fingerprint, input=plaintext.encode())
    if corrupt:  # the recipient stays readable, the body no longer decrypts
        message = message[:-8] + bytes(b ^ 0x5A for b in message[-8:])
    text = f"ENC[GPG,{base64.b64encode(message).decode()}]"
    return EncryptedValue(text, Location("hieradata/common.yaml", 3), key)


@pytest.fixture
def reader(gpg):
    keyring = GnuPG(Path(gpg.home))
    made = HostSecrets(keyring, lambda: pytest.fail("no value is foreign here"), "web1")
    yield made
    keyring.release()


def test_values_fetched_ahead_are_read_in_the_order_the_compile_asks(gpg, keys, reader):
    one, two, spare = (value(gpg, keys, f"app::{n}", f"plain-{n}") for n in ("one", "two", "spare"))
    reader.prefetch([one, two, one, spare], jobs=2)
    assert reader.reads == []  # nothing is read until the compile uses it
    assert reader(two).reveal() == "plain-two"
    assert reader(one).reveal() == "plain-one"
    reader.settle()
    # the spare was decrypted though the compile never used it: it is recorded, after the used ones
    assert [(r.key, r.file) for r in reader.reads] == [
        ("app::two", "hieradata/common.yaml"),
        ("app::one", "hieradata/common.yaml"),
        ("app::spare", "hieradata/common.yaml"),
    ]


def test_a_value_that_failed_ahead_fails_where_it_is_used_naming_file_and_key(gpg, keys, reader):
    good = value(gpg, keys, "app::good", "plain-good")
    bad = value(gpg, keys, "app::bad", "LEAK-do-not-print", corrupt=True)
    unused_bad = value(gpg, keys, "app::unused_bad", "LEAK-do-not-print-2", corrupt=True)
    reader.prefetch([good, bad, unused_bad], jobs=2)
    assert reader(good).reveal() == "plain-good"
    with pytest.raises(SecretError) as failed:
        reader(bad)
    message = str(failed.value)
    assert "`app::bad` (hieradata/common.yaml)" in message and "could not decrypt" in message
    assert "hieradata/common.yaml:3" in message
    assert "LEAK" not in message
    reader.settle()
    assert [r.key for r in reader.reads] == ["app::good"]  # nothing was decrypted of the failed ones
