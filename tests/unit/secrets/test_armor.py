import base64

import pytest

from agent.errors import SecretError
from agent.secrets.armor import _crc24, dearmor, is_armored

DATA = bytes(range(200))


def armored(data: bytes, kind: str = "PGP PUBLIC KEY BLOCK", headers: str = "", crc: bool = True) -> bytes:
    text = base64.b64encode(data).decode()
    lines = [f"-----BEGIN {kind}-----", *headers.splitlines(), ""]
    lines += [text[i : i + 64] for i in range(0, len(text), 64)]
    if crc:
        lines.append("=" + base64.b64encode(_crc24(data).to_bytes(3, "big")).decode())
    lines.append(f"-----END {kind}-----")
    return ("\n".join(lines) + "\n").encode()


def test_crc24_of_rfc_check_value():
    assert _crc24(b"") == 0xB704CE
    assert _crc24(b"123456789") == 0x21CF02  # the CRC-24/OPENPGP check value


def test_round_trip():
    assert dearmor(armored(DATA)) == [("PGP PUBLIC KEY BLOCK", DATA)]


def test_headers_crlf_and_surrounding_text_are_handled():
    text = armored(DATA, headers="Version: GnuPG v2\nComment: web1's key").replace(b"\n", b"\r\n")
    assert dearmor(b"the key of web1:\r\n\r\n" + text + b"trailing words\n") == [("PGP PUBLIC KEY BLOCK", DATA)]


def test_checksum_is_optional():
    assert dearmor(armored(DATA, crc=False)) == [("PGP PUBLIC KEY BLOCK", DATA)]


def test_several_blocks():
    data = armored(DATA) + armored(b"abc", "PGP MESSAGE")
    assert dearmor(data) == [("PGP PUBLIC KEY BLOCK", DATA), ("PGP MESSAGE", b"abc")]


def test_is_armored():
    assert is_armored(b"\n  -----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    assert not is_armored(b"\x99\x01")
    assert not is_armored(b"note: -----BEGIN PGP PUBLIC KEY BLOCK-----")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"no armor here", "no -----BEGIN PGP ...----- line"),
        (armored(DATA).replace(b"-----END PGP PUBLIC KEY BLOCK-----\n", b""), "no -----END PGP PUBLIC"),
        (armored(DATA).replace(b"END PGP PUBLIC KEY", b"END PGP PRIVATE KEY"), "ends with -----END PGP PRIVATE"),
        (armored(DATA).replace(b"AAECAw", b"AAEC*w"), "bad base64"),
        (armored(DATA).replace(b"AAECAw", b"AAECAx"), "checksum mismatch"),
    ],
)
def test_malformed_armor(data, message):
    with pytest.raises(SecretError, match="malformed ASCII armor") as info:
        dearmor(data)
    assert message in str(info.value)
