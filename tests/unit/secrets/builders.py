"""Hand-made OpenPGP packets for the unit tests: headers in every length form, PKESKs, keys, signatures."""

from __future__ import annotations

import hashlib


def old_packet(tag: int, body: bytes, length_type: int | None = None) -> bytes:
    """An old-format packet; length_type 0/1/2 is a 1/2/4-octet length, 3 indeterminate (None: smallest)."""
    assert tag < 16, "the old format has four bits for the tag"
    if length_type is None:
        length_type = 0 if len(body) < 0x100 else 1 if len(body) < 0x10000 else 2
    header = bytes([0x80 | tag << 2 | length_type])
    if length_type == 3:
        return header + body
    return header + len(body).to_bytes((1, 2, 4)[length_type], "big") + body


def new_length(length: int, form: str = "auto") -> bytes:
    """A new-format body length: form "one", "two", "five" or the smallest ("auto")."""
    if form == "auto":
        form = "one" if length < 192 else "two" if length < 8384 else "five"
    if form == "one":
        return bytes([length])
    if form == "two":
        length -= 192
        return bytes([(length >> 8) + 192, length & 0xFF])
    return b"\xff" + length.to_bytes(4, "big")


def new_packet(tag: int, body: bytes, form: str = "auto") -> bytes:
    return bytes([0xC0 | tag]) + new_length(len(body), form) + body


def partial_packet(tag: int, body: bytes, power: int = 9) -> bytes:
    """A new-format packet whose body is sent in partial chunks of 2**power octets, then a final length."""
    out = bytearray([0xC0 | tag])
    chunk = 1 << power
    pos = 0
    while len(body) - pos >= chunk:
        out += bytes([224 + power]) + body[pos : pos + chunk]
        pos += chunk
    out += new_length(len(body) - pos) + body[pos:]
    return bytes(out)


def pkesk_v3(key_id: bytes, algorithm: int = 18) -> bytes:
    return bytes([3]) + key_id + bytes([algorithm]) + b"\x00\x08esk-data"


def pkesk_v6(fingerprint: bytes, key_version: int, algorithm: int = 25) -> bytes:
    if not fingerprint:
        return bytes([6, 0, algorithm]) + b"esk-data"
    return bytes([6, 1 + len(fingerprint), key_version]) + fingerprint + bytes([algorithm]) + b"esk-data"


def encrypted_data(size: int = 40) -> bytes:
    """A SEIPD v1 packet (tag 18) as gpg writes it: new format, definite length."""
    return new_packet(18, b"\x01" + bytes(range(256)) * (size // 256) + bytes(size % 256))


def message(*key_ids: bytes) -> bytes:
    return b"".join(old_packet(1, pkesk_v3(key_id)) for key_id in key_ids) + encrypted_data()


def key_body(created: int = 1_700_000_000, algorithm: int = 18, material: bytes = b"\x01\x00key") -> bytes:
    """A v4 public key packet body: the key material is opaque to the reader."""
    return bytes([4]) + created.to_bytes(4, "big") + bytes([algorithm]) + material


def fingerprint(body: bytes) -> str:
    return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()


def subpacket(kind: int, data: bytes) -> bytes:
    return new_length(len(data) + 1) + bytes([kind]) + data


def signature(
    sig_type: int,
    issuer_fpr: str,
    *,
    created: int = 1_700_000_000,
    flags: int | None = None,
    expires_after: int | None = None,
    issuer_in_unhashed: bool = False,
) -> bytes:
    """A v4 signature packet body with the subpackets the key reader looks at."""
    hashed = subpacket(2, created.to_bytes(4, "big"))
    issuer = subpacket(33, b"\x04" + bytes.fromhex(issuer_fpr))
    unhashed = subpacket(16, bytes.fromhex(issuer_fpr[-16:]))
    if issuer_in_unhashed:
        unhashed += issuer
    else:
        hashed += issuer
    if flags is not None:
        hashed += subpacket(27, bytes([flags]))
    if expires_after is not None:
        hashed += subpacket(9, expires_after.to_bytes(4, "big"))
    head = bytes([4, sig_type, 22, 8]) + len(hashed).to_bytes(2, "big") + hashed
    return head + len(unhashed).to_bytes(2, "big") + unhashed + b"\xab\xcd" + b"\x00\x08sigvalue"
