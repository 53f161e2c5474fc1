"""The packet reader against what gpg itself writes and lists."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from agent.errors import SecretError
from agent.secrets.enc import format_enc_block, parse_enc
from agent.secrets.packets import (
    HIDDEN_RECIPIENT,
    PRIVATE_KEY,
    contains_private_key,
    iter_packets,
    public_key_info,
    recipient_key_ids,
)
from tests.integration.secrets.conftest import NO_PASSPHRASE
from tests.unit.secrets.colons import listed_keys

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")


def encrypt(gpg, *names, plaintext=b"s3cret\n", options=()):
    recipients = [arg for name in names for arg in ("--recipient", name + "@test")]
    return gpg("--encrypt", *options, *recipients, input=plaintext)


def listed_packet_key_ids(gpg, message):
    """The `keyid` of each PKESK as `gpg --list-packets` prints it."""
    out = gpg("--list-packets", input=message).decode()
    return [line.rsplit("keyid ", 1)[1] for line in out.splitlines() if line.startswith(":pubkey enc packet:")]


def test_recipients_are_the_encryption_subkeys_gpg_lists(gpg, keys):
    message = encrypt(gpg, "web1", "db1")
    expected = sorted(keys[name].encryption_key_id for name in ("web1", "db1"))
    assert sorted(recipient_key_ids(message)) == expected
    assert recipient_key_ids(message) == listed_packet_key_ids(gpg, message)


def test_gpg_writes_v3_pkesks_and_a_seipd_packet(gpg, keys):
    packets = list(iter_packets(encrypt(gpg, "web1", "db1", "alice")))
    assert [p.tag for p in packets] == [1, 1, 1, 18]
    assert {p.body[0] for p in packets} == {3, 1}  # PKESK v3, SEIPD v1 (with MDC)


def test_large_message_with_partial_lengths(gpg, keys):
    message = encrypt(gpg, "alice", "db1", plaintext=bytes(range(256)) * 200, options=("-z", "0"))
    data = list(iter_packets(message))[-1]
    assert data.tag == 18 and len(data.body) > 51200
    assert message[data.offset + 1] >= 224  # a new-format partial body length
    assert sorted(recipient_key_ids(message)) == sorted(
        [keys["alice"].encryption_key_id, keys["db1"].encryption_key_id]
    )


@pytest.mark.parametrize("options", [("--throw-keyids",), ()])
def test_hidden_recipients_are_refused(gpg, keys, options):
    if options:
        message = encrypt(gpg, "web1", options=options)
    else:
        message = gpg("--encrypt", "--hidden-recipient", "db1@test", "--recipient", "web1@test", input=b"x")
    with pytest.raises(SecretError) as info:
        recipient_key_ids(message)
    assert str(info.value) == HIDDEN_RECIPIENT


def test_passphrase_messages_are_refused(gpg, keys):
    symmetric = ("--pinentry-mode", "loopback", "--passphrase", "pw", "--symmetric")
    with pytest.raises(SecretError, match="passphrase only"):
        recipient_key_ids(gpg(*symmetric, input=b"x"))
    with pytest.raises(SecretError, match="also encrypted to a passphrase"):
        recipient_key_ids(gpg(*symmetric, "--encrypt", "--recipient", "web1@test", input=b"x"))


def test_signed_message_is_not_encrypted(gpg, keys):
    signed = gpg(*NO_PASSPHRASE, "--local-user", "web1@test", "--sign", input=b"plain")
    with pytest.raises(SecretError, match="not an encrypted message"):
        recipient_key_ids(signed)


@pytest.mark.parametrize("name", ["web1", "db1", "alice"])
def test_public_key_info_matches_gpg_listing(gpg, keys, name):
    info = public_key_info(gpg("--armor", "--export", keys[name].fingerprint))
    assert info == listed_keys(gpg.colons(keys[name].fingerprint))
    assert info[0].fingerprint == keys[name].fingerprint
    assert [k.key_id for k in info if k.can_encrypt] == [keys[name].encryption_key_id]


def test_expiring_key_and_subkey(gpg, keys):
    primary, subkey = public_key_info(gpg("--export", keys["alice"].fingerprint))
    assert 365 * 86400 <= primary.expires - primary.created <= 366 * 86400
    assert subkey.expires - subkey.created == 30 * 86400
    assert subkey.can_encrypt and not primary.can_encrypt


def test_binary_export_of_every_key(gpg, keys):
    info = public_key_info(gpg("--export"))
    assert info == listed_keys(gpg.colons())
    assert len(info) == 6


@pytest.mark.parametrize("armor", [(), ("--armor",)])
def test_private_key_exports_are_detected(gpg, keys, armor):
    fpr = keys["web1"].fingerprint
    assert contains_private_key(gpg(*NO_PASSPHRASE, *armor, "--export-secret-keys", fpr))
    assert contains_private_key(gpg(*NO_PASSPHRASE, *armor, "--export-secret-subkeys", fpr))
    assert not contains_private_key(gpg(*armor, "--export", fpr))
    with pytest.raises(SecretError, match=PRIVATE_KEY.split(":")[0]):
        public_key_info(gpg(*NO_PASSPHRASE, *armor, "--export-secret-keys", fpr))


def test_gpg_agent_key_files_are_detected(gpg, keys):
    files = sorted(Path(gpg.home, "private-keys-v1.d").iterdir())
    assert len(files) == 6
    assert all(contains_private_key(path.read_bytes()) for path in files)


def test_enc_value_from_gpg_and_base64(gpg, keys):
    message = encrypt(gpg, "web1")
    wrapped = subprocess.run(["base64"], input=message, capture_output=True, check=True, timeout=30).stdout
    assert b"\n" in wrapped.strip()  # base64(1) wraps at 76 columns
    value = "ENC[GPG," + wrapped.decode() + "]"
    assert parse_enc(value) == message
    assert recipient_key_ids(parse_enc(value)) == [keys["web1"].encryption_key_id]


def test_yaml_folded_block_decrypts(gpg, keys):
    message = encrypt(gpg, "db1", plaintext=b"db-password")
    body = "".join(f"  {line}\n" for line in format_enc_block(message))
    value = yaml.safe_load("db::password: >\n" + body)["db::password"]
    assert gpg("--decrypt", input=parse_enc(value)) == b"db-password"
