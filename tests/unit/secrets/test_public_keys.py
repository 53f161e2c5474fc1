import base64
import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import SecretError
from agent.secrets.armor import dearmor
from agent.secrets.packets import PRIVATE_KEY, public_key_info, recipient_key_ids
from tests.unit.secrets.builders import (
    fingerprint,
    key_body,
    new_packet,
    old_packet,
    signature,
)
from tests.unit.secrets.colons import listed_keys

FIXTURES = Path(__file__).parent / "fixtures"
ARMORED = (FIXTURES / "fixture-key.asc").read_bytes()
LISTED = listed_keys((FIXTURES / "fixture-key.colons").read_text())

PRIMARY = key_body(created=1_700_000_000, algorithm=22)
PRIMARY_FPR = fingerprint(PRIMARY)
SUBKEY = key_body(created=1_700_000_100, algorithm=18, material=b"\x02\x00sub")
SUBKEY_FPR = fingerprint(SUBKEY)
OTHER_FPR = "AB" * 20


def cert(*packets: bytes) -> bytes:
    """A transferable public key: primary, a uid with its self-signature, then the given packets."""
    head = old_packet(6, PRIMARY) + old_packet(13, b"web1 <web1@test>")
    return head + old_packet(2, signature(0x13, PRIMARY_FPR, flags=0x03)) + b"".join(packets)


def only_subkey(data: bytes):
    [primary, subkey] = public_key_info(data)
    assert primary.fingerprint == PRIMARY_FPR
    return subkey


# -- a real key, checked against gpg's own listing ------------------------------------------------------


def test_gpg_fixture_listing_is_what_we_expect():
    assert [k.key_id for k in LISTED] == ["4A04A014CAD8BE05", "59CAF23A5BDD77EA", "AA258009569B3D68"]
    assert LISTED[0].expires == 1827246227 and LISTED[2].expires == 1798302227


def test_armored_gpg_export_matches_gpg_listing():
    assert public_key_info(ARMORED) == LISTED


def test_binary_gpg_export_matches_gpg_listing():
    [(kind, binary)] = dearmor(ARMORED)
    assert kind == "PGP PUBLIC KEY BLOCK"
    assert public_key_info(binary) == LISTED


def test_two_certificates_in_one_input():
    [(_, binary)] = dearmor(ARMORED)
    assert public_key_info(binary + cert()) == [*LISTED, *public_key_info(cert())]
    assert public_key_info(ARMORED + ARMORED) == LISTED + LISTED


def test_real_gpg_message_addresses_the_fixture_encryption_subkey():
    text = (FIXTURES / "fixture-message.b64").read_text().split("\n", 1)[1]
    assert recipient_key_ids(base64.b64decode(text)) == ["59CAF23A5BDD77EA"]


# -- hand-made keys -------------------------------------------------------------------------------------


def test_primary_fields():
    [primary] = public_key_info(cert())
    assert primary.fingerprint == PRIMARY_FPR
    assert primary.key_id == PRIMARY_FPR[-16:]
    assert primary.primary_fingerprint == PRIMARY_FPR
    assert (primary.is_subkey, primary.algorithm, primary.created) == (False, 22, 1_700_000_000)
    assert (primary.expires, primary.can_encrypt, primary.revoked) == (None, False, False)
    assert primary.user_ids == ("web1 <web1@test>",)


def test_encryption_subkey_with_expiry():
    binding = signature(0x18, PRIMARY_FPR, flags=0x0C, expires_after=86400)
    subkey = only_subkey(cert(old_packet(14, SUBKEY), old_packet(2, binding)))
    assert subkey.fingerprint == SUBKEY_FPR and subkey.key_id == SUBKEY_FPR[-16:]
    assert (subkey.is_subkey, subkey.primary_fingerprint) == (True, PRIMARY_FPR)
    assert (subkey.can_encrypt, subkey.expires) == (True, 1_700_000_100 + 86400)
    assert subkey.user_ids == ("web1 <web1@test>",)


@pytest.mark.parametrize(("flags", "can_encrypt"), [(0x04, True), (0x08, True), (0x02, False), (0x20, False)])
def test_key_flags_decide_encryption(flags, can_encrypt):
    binding = signature(0x18, PRIMARY_FPR, flags=flags)
    assert only_subkey(cert(old_packet(14, SUBKEY), old_packet(2, binding))).can_encrypt is can_encrypt


@pytest.mark.parametrize(("algorithm", "can_encrypt"), [(18, True), (1, True), (22, False), (19, False)])
def test_without_flags_the_algorithm_decides(algorithm, can_encrypt):
    body = key_body(algorithm=algorithm, material=b"\x03")
    subkey = only_subkey(cert(old_packet(14, body), old_packet(2, signature(0x18, PRIMARY_FPR))))
    assert subkey.can_encrypt is can_encrypt


def test_subkey_without_binding_signature_cannot_encrypt():
    assert only_subkey(cert(old_packet(14, SUBKEY))).can_encrypt is False


def test_newest_binding_signature_wins():
    old = signature(0x18, PRIMARY_FPR, created=1_700_000_200, flags=0x0C, expires_after=100)
    new = signature(0x18, PRIMARY_FPR, created=1_700_000_300, flags=0x0C, expires_after=500)
    for order in ((old, new), (new, old)):
        packets = [old_packet(2, sig) for sig in order]
        assert only_subkey(cert(old_packet(14, SUBKEY), *packets)).expires == 1_700_000_100 + 500


def test_signatures_by_other_keys_are_ignored():
    third_party = signature(0x10, OTHER_FPR, created=1_800_000_000, flags=0x0C, expires_after=5)
    forged_binding = signature(0x18, OTHER_FPR, created=1_800_000_000, flags=0x01, expires_after=5)
    binding = signature(0x18, PRIMARY_FPR, flags=0x0C)
    data = cert(old_packet(2, third_party), old_packet(14, SUBKEY), old_packet(2, binding))
    primary, subkey = public_key_info(data + old_packet(2, forged_binding))
    assert (primary.expires, primary.can_encrypt) == (None, False)
    assert (subkey.expires, subkey.can_encrypt) == (None, True)


def test_issuer_in_unhashed_area_counts():
    binding = signature(0x18, PRIMARY_FPR, flags=0x0C, expires_after=60, issuer_in_unhashed=True)
    assert only_subkey(cert(old_packet(14, SUBKEY), old_packet(2, binding))).expires == 1_700_000_160


def test_primary_expiry_comes_from_the_user_id_self_signature():
    uid_sig = signature(0x13, PRIMARY_FPR, created=1_700_000_050, flags=0x03, expires_after=1000)
    [primary] = public_key_info(cert(old_packet(2, uid_sig)))
    assert primary.expires == 1_700_001_000


def test_user_attribute_signatures_do_not_set_primary_expiry():
    photo_sig = signature(0x13, PRIMARY_FPR, created=1_700_000_050, expires_after=1000)
    [primary] = public_key_info(cert(new_packet(17, b"\x01photo"), old_packet(2, photo_sig)))
    assert primary.expires is None


def test_revocations():
    revoke_sub = signature(0x28, PRIMARY_FPR)
    binding = signature(0x18, PRIMARY_FPR, flags=0x0C)
    subkey = only_subkey(cert(old_packet(14, SUBKEY), old_packet(2, binding), old_packet(2, revoke_sub)))
    assert subkey.revoked is True
    revoke_key = old_packet(2, signature(0x20, PRIMARY_FPR))
    data = old_packet(6, PRIMARY) + revoke_key + old_packet(14, SUBKEY) + old_packet(2, binding)
    assert [k.revoked for k in public_key_info(data)] == [True, True]


def test_v3_signatures_and_trust_packets_are_skipped():
    v3_sig = bytes([3, 5, 0x13]) + bytes(20)
    assert len(public_key_info(cert(old_packet(2, v3_sig), old_packet(12, b"\x00\x00")))) == 1


def test_new_format_packets():
    data = new_packet(6, PRIMARY) + new_packet(13, b"x") + new_packet(14, SUBKEY, "five")
    assert [k.fingerprint for k in public_key_info(data)] == [PRIMARY_FPR, SUBKEY_FPR]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no public key found"),
        (old_packet(5, PRIMARY + b"\x00secret"), PRIVATE_KEY),
        (cert(old_packet(7, SUBKEY + b"\x00secret")), PRIVATE_KEY),
        (old_packet(13, b"uid") + cert(), "expected a public key packet first, found a user ID packet"),
        (old_packet(6, b"\x05" + PRIMARY[1:]), "v5 keys are not supported yet"),
        (old_packet(6, b"\x06" + PRIMARY[1:]), "v6 keys are not supported yet"),
        (old_packet(6, b"\x03" + PRIMARY[1:]), "v3 keys are not supported"),
        (old_packet(6, PRIMARY[:4]), "malformed OpenPGP key"),
        (cert(old_packet(2, bytes([4, 0x18, 22, 8, 0, 9, 1]))), "malformed OpenPGP key: truncated"),
        (cert(old_packet(2, bytes([4, 0x18, 22, 8, 0, 2, 5, 2, 0, 0]))), "bad signature subpacket length"),
        (cert(old_packet(2, bytes([4, 0x18, 22, 8, 0, 0, 0, 9]))), "truncated signature"),
        (cert()[:-3], "malformed OpenPGP key: truncated"),
        (
            (b"-----BEGIN PGP %s KEY BLOCK-----\n\nlFgE\n-----END PGP %s KEY BLOCK-----\n" % (b"PRIVATE", b"PRIVATE")),
            PRIVATE_KEY,
        ),
        (b"-----BEGIN PGP MESSAGE-----\n\nhF4D\n-----END PGP MESSAGE-----\n", "found a PGP MESSAGE"),
    ],
)
def test_refused_keys(data, message):
    with pytest.raises(SecretError) as info:
        public_key_info(data)
    assert message in str(info.value)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_secret_error(data):
    with contextlib.suppress(SecretError):
        public_key_info(data)


@given(st.integers(0, len(ARMORED) - 1))
def test_truncated_armor_raises_only_secret_error(end):
    with contextlib.suppress(SecretError):
        public_key_info(ARMORED[:end])
