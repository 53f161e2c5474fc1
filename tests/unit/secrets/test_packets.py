import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import SecretError
from agent.location import Location
from agent.secrets.packets import (
    HIDDEN_RECIPIENT,
    Packet,
    contains_private_key,
    iter_packets,
    recipient_key_ids,
)
from tests.unit.secrets.builders import (
    encrypted_data,
    key_body,
    message,
    new_length,
    new_packet,
    old_packet,
    partial_packet,
    pkesk_v3,
    pkesk_v6,
)

KEY_A = bytes.fromhex("83DD745E0631D003")
KEY_B = bytes.fromhex("1957FF152F33682B")


# -- framing -----------------------------------------------------------------------------------------


SIZES = [0, 1, 191, 192, 193, 255, 256, 8383, 8384, 70000]
OLD_FORMS = [(size, form) for size in SIZES for form in (0, 1, 2, 3) if size < (256, 65536, 2**32, 2**32)[form]]
NEW_FORMS = [("one", range(192)), ("two", range(192, 8384)), ("five", range(2**32))]


@pytest.mark.parametrize(("size", "length_type"), OLD_FORMS)
def test_old_format_lengths(size, length_type):
    body = bytes(i % 251 for i in range(size))
    assert list(iter_packets(old_packet(11, body, length_type))) == [Packet(11, body, 0)]


@pytest.mark.parametrize(("size", "form"), [(size, form) for size in SIZES for form, fits in NEW_FORMS if size in fits])
def test_new_format_lengths(size, form):
    body = bytes(i % 251 for i in range(size))
    assert list(iter_packets(new_packet(18, body, form))) == [Packet(18, body, 0)]


@pytest.mark.parametrize("power", [0, 1, 9, 13])
@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 20000])
def test_partial_body_lengths_are_joined(power, size):
    body = bytes(i % 253 for i in range(size))
    data = partial_packet(18, body, power) + old_packet(13, b"uid")
    assert list(iter_packets(data)) == [Packet(18, body, 0), Packet(13, b"uid", len(data) - 5)]


def test_partial_chunks_ending_with_a_zero_length():
    data = bytes([0xC0 | 11, 224 + 1]) + b"ab" + new_length(0)
    assert list(iter_packets(data)) == [Packet(11, b"ab", 0)]


def test_indeterminate_length_runs_to_the_end():
    data = old_packet(1, b"esk") + old_packet(8, b"compressed" + bytes(30), 3)
    assert [p.tag for p in iter_packets(data)] == [1, 8]
    assert list(iter_packets(data))[1].body == b"compressed" + bytes(30)


def test_offsets():
    data = old_packet(1, b"a") + new_packet(18, b"bc") + old_packet(2, b"d", 2)
    assert [(p.tag, p.offset) for p in iter_packets(data)] == [(1, 0), (18, 3), (2, 7)]


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"\x7f\x01\x02", "byte 0x7f at offset 0 is not a packet header"),
        (b"\x80\x00", "reserved packet tag 0"),
        (b"\xc0\x00", "reserved packet tag 0"),
        (b"\x84", "truncated"),
        (b"\x85\x00", "truncated"),
        (b"\xd2\xff\x00\x00", "truncated"),
        (b"\xd2\xc5", "truncated"),
        (b"\x84\x05abc", "truncated: public-key encrypted session key packet at offset 0 needs 2 more"),
        (b"\xd2\xe9" + bytes(512), "truncated"),
        (b"\xd2\xe9" + bytes(511), "truncated"),
    ],
)
def test_malformed_framing(data, detail):
    with pytest.raises(SecretError, match="malformed OpenPGP message: ") as info:
        list(iter_packets(data))
    assert detail in str(info.value)


@given(st.binary(max_size=300))
def test_iter_packets_raises_only_secret_error(data):
    try:
        packets = list(iter_packets(data))
    except SecretError:
        return
    assert sum(len(p.body) for p in packets) <= len(data)


# -- recipients --------------------------------------------------------------------------------------


def test_recipients_in_message_order():
    assert recipient_key_ids(message(KEY_A, KEY_B)) == ["83DD745E0631D003", "1957FF152F33682B"]


def test_recipients_with_new_format_headers_and_partial_data():
    data = new_packet(1, pkesk_v3(KEY_B), "five") + partial_packet(18, b"\x01" + bytes(3000), 9)
    assert recipient_key_ids(data) == ["1957FF152F33682B"]


def test_marker_and_padding_packets_are_ignored():
    data = old_packet(10, b"PGP") + old_packet(1, pkesk_v3(KEY_A)) + encrypted_data() + new_packet(21, b"")
    with pytest.raises(SecretError, match="follows the encrypted data"):
        recipient_key_ids(data)
    data = old_packet(10, b"PGP") + new_packet(21, bytes(9)) + old_packet(1, pkesk_v3(KEY_A)) + encrypted_data()
    assert recipient_key_ids(data) == ["83DD745E0631D003"]


@pytest.mark.parametrize("tag", [9, 18, 20])
def test_every_encrypted_data_packet_type(tag):
    assert recipient_key_ids(old_packet(1, pkesk_v3(KEY_A)) + new_packet(tag, b"\x01data")) == ["83DD745E0631D003"]


def test_hidden_recipient_is_refused():
    with pytest.raises(SecretError) as info:
        recipient_key_ids(message(KEY_A, bytes(8)))
    assert str(info.value) == HIDDEN_RECIPIENT
    assert "gpg --throw-keyids" in HIDDEN_RECIPIENT


def test_v6_pkesk_for_a_v4_key_uses_the_fingerprints_low_bytes():
    fpr = bytes.fromhex("90D80C35BE0B11DA1FCFBCC083DD745E0631D003")
    assert recipient_key_ids(old_packet(1, pkesk_v6(fpr, 4)) + encrypted_data()) == ["83DD745E0631D003"]


def test_v6_pkesk_for_a_v6_key_uses_the_fingerprints_high_bytes():
    fpr = bytes(range(1, 33))
    assert recipient_key_ids(new_packet(1, pkesk_v6(fpr, 6)) + encrypted_data()) == ["0102030405060708"]


def test_v6_anonymous_recipient_is_refused():
    with pytest.raises(SecretError, match="hidden recipient"):
        recipient_key_ids(new_packet(1, pkesk_v6(b"", 0)) + encrypted_data())


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        (old_packet(3, b"\x04\x09\x03\x08salt") + encrypted_data(), "passphrase only (gpg --symmetric)"),
        (message(KEY_A)[: -len(encrypted_data())] + old_packet(3, b"\x04") + encrypted_data(), "passphrase"),
        (old_packet(1, pkesk_v3(KEY_A)), "malformed OpenPGP message: no encrypted data packet"),
        (old_packet(11, b"b\x00\x00\x00\x00\x00plaintext"), "not an encrypted message: it holds a literal"),
        (old_packet(6, key_body()), "not an encrypted message: it holds a public key packet"),
        (message(KEY_A) + old_packet(2, b"sig"), "a signature packet follows the encrypted data"),
        (old_packet(1, b"\x05" + KEY_A + b"\x12") + encrypted_data(), "session key version 5"),
        (old_packet(1, b"\x03" + KEY_A[:5]) + encrypted_data(), "truncated public-key encrypted session"),
        (old_packet(1, b"") + encrypted_data(), "truncated"),
        (old_packet(1, b"\x06\x15\x04" + bytes(5)) + encrypted_data(), "truncated public-key"),
        (b"-----BEGIN PGP MESSAGE-----\n\nhF4D\n-----END PGP MESSAGE-----\n", "not ASCII armor"),
        (b"", "malformed OpenPGP message: empty"),
    ],
)
def test_refused_messages(data, message_part):
    with pytest.raises(SecretError) as info:
        recipient_key_ids(data)
    assert message_part in str(info.value)


def test_every_truncation_is_refused():
    data = message(KEY_A, KEY_B)
    for end in range(len(data)):
        with pytest.raises(SecretError):
            recipient_key_ids(data[:end])


def test_error_names_file_line_and_key():
    with pytest.raises(SecretError) as info:
        recipient_key_ids(message(bytes(8)), location=Location("hieradata/roles/db.yaml", 4), subject="db::pw")
    assert str(info.value) == f"hieradata/roles/db.yaml:4: db::pw: {HIDDEN_RECIPIENT}"


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_secret_error(data):
    try:
        ids = recipient_key_ids(data)
    except SecretError:
        return
    assert all(len(key_id) == 16 and key_id == key_id.upper() for key_id in ids)


@given(st.lists(st.binary(min_size=8, max_size=8), min_size=1, max_size=5), st.integers(0, 3000))
def test_recipients_of_any_well_formed_message(key_ids, size):
    data = b"".join(new_packet(1, pkesk_v3(k)) for k in key_ids) + partial_packet(18, bytes(size), 9)
    if bytes(8) in key_ids:
        with pytest.raises(SecretError, match="hidden recipient"):
            recipient_key_ids(data)
    else:
        assert recipient_key_ids(data) == [k.hex().upper() for k in key_ids]


# -- private keys ------------------------------------------------------------------------------------

# A well-formed v4 EdDSA secret key: the Ed25519 OID, a 263-bit public point, S2K usage 0, the secret.
ED25519_OID = bytes.fromhex("092b06010401da470f01")
PUBLIC_POINT = (263).to_bytes(2, "big") + b"\x40" + bytes(range(32))
SECRET_BODY = key_body(algorithm=22, material=ED25519_OID + PUBLIC_POINT) + b"\x00secret-material"


@pytest.mark.parametrize(
    "data",
    [
        (
            b"-----BEGIN PGP %s KEY BLOCK-----\n\nlFgE\n=abcd\n-----END PGP %s KEY BLOCK-----\n"
            % (b"PRIVATE", b"PRIVATE")
        ),
        (b"db::key: |\n  -----BEGIN PGP %s KEY BLOCK-----\n  lFgE\n" % b"PRIVATE"),
        old_packet(5, SECRET_BODY),
        old_packet(5, SECRET_BODY, 1) + old_packet(13, b"uid"),
        new_packet(5, SECRET_BODY),
        old_packet(7, SECRET_BODY),
        new_packet(7, SECRET_BODY, "five"),
        old_packet(5, SECRET_BODY, 3),
        b"Created: 20261126T162114\nKey: (private-key (ecc (curve Curve25519)(flags djb-tweak)(q\n",
        b"Key: (protected-private-key (ecc (curve Ed25519)(q #40#)\n",
        b"(21:protected-private-key(3:ecc(5:curve7:Ed25519)",
        b"(11:private-key(3:rsa(1:n257:",
    ],
)
def test_private_key_material(data):
    assert contains_private_key(data) is True


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDME\n-----END PGP PUBLIC KEY BLOCK-----\n",
        old_packet(6, key_body()),
        # Bytes that only begin like a secret key (an image in files/ might): no well-formed key material.
        old_packet(5, key_body(algorithm=22) + b"\x00secret-material"),
        old_packet(5, SECRET_BODY) + b"\xff\xff trailing bytes that are no packet",
        old_packet(14, key_body()),
        old_packet(5, SECRET_BODY)[:-1],
        old_packet(5, b"\x04abc"),
        old_packet(5, b"\x09" + SECRET_BODY[1:]),
        bytes([0xC5, 224 + 9]) + bytes(512) + new_length(0),
        b"\x95",
        b"password: hunter2\n",
        b"# notes on the private key: see the wiki\n",
        b"(20:shadowed-private-key(3:ecc",
    ],
)
def test_not_private_key_material(data):
    assert contains_private_key(data) is False


@given(st.binary(max_size=200))
def test_contains_private_key_never_raises(data):
    assert contains_private_key(data) in (True, False)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_damaged_messages_raise_only_secret_error(damage):
    data = bytearray(message(KEY_A, KEY_B))
    for index, value in damage:
        data[index % len(data)] = value
    try:
        ids = recipient_key_ids(bytes(data))
    except SecretError:
        return
    assert all(len(key_id) == 16 for key_id in ids)
