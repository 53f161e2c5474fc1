"""A minimal OpenPGP packet reader (RFC 4880, RFC 9580 where cheap): recipients, public keys, private keys."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from agent.errors import SecretError
from agent.location import Location
from agent.secrets import armor

TAG_PKESK = 1
TAG_SIGNATURE = 2
TAG_SKESK = 3
TAG_SECRET_KEY = 5
TAG_PUBLIC_KEY = 6
TAG_SECRET_SUBKEY = 7
TAG_MARKER = 10
TAG_USER_ID = 13
TAG_PUBLIC_SUBKEY = 14
TAG_USER_ATTRIBUTE = 17
TAG_PADDING = 21
_ENCRYPTED_DATA_TAGS = frozenset({9, 18, 20})
_PACKET_NAMES = {
    1: "public-key encrypted session key",
    2: "signature",
    3: "symmetric-key encrypted session key",
    4: "one-pass signature",
    5: "secret key",
    6: "public key",
    7: "secret subkey",
    8: "compressed data",
    11: "literal data",
    13: "user ID",
    14: "public subkey",
}

_SIG_USER_ID = frozenset({0x10, 0x11, 0x12, 0x13})
_SIG_DIRECT_KEY = 0x1F
_SIG_SUBKEY_BINDING = 0x18
_SIG_KEY_REVOCATION = 0x20
_SIG_SUBKEY_REVOCATION = 0x28
_BINDINGS = frozenset({("key", _SIG_DIRECT_KEY), ("subkey", _SIG_SUBKEY_BINDING)})
_REVOCATIONS = frozenset({("key", _SIG_KEY_REVOCATION), ("subkey", _SIG_SUBKEY_REVOCATION)})
_SUB_CREATED = 2
_SUB_KEY_EXPIRES = 9
_SUB_ISSUER = 16
_SUB_KEY_FLAGS = 27
_SUB_ISSUER_FPR = 33
_FLAGS_ENCRYPT = 0x04 | 0x08  # communications | storage
_ENCRYPTION_ALGORITHMS = frozenset({1, 2, 16, 18, 25, 26})  # RSA, RSA-E, Elgamal, ECDH, X25519, X448
# RSA (1-3), Elgamal, DSA, ECDH, ECDSA, EdDSA (legacy), X25519, X448, Ed25519, Ed448 (RFC 9580 9.1).
_PUBLIC_KEY_ALGORITHMS = frozenset({1, 2, 3, 16, 17, 18, 19, 22, 25, 26, 27, 28})

HIDDEN_RECIPIENT = "hidden recipient (gpg --throw-keyids): every recipient must be visible to an auditor"
PRIVATE_KEY = "this is a private key: export the public one with `gpg --armor --export KEY`"
# Spelled in two parts so that this source file is not itself taken for a private key.
_PRIVATE_ARMOR = b"-----BEGIN PGP %s KEY BLOCK-----" % b"PRIVATE"
# gpg-agent's key files (private-keys-v1.d/*.key), in the extended and the canonical S-expression forms.
_AGENT_KEY = re.compile(rb"^Key: \((?:protected-)?private-key\b", re.MULTILINE)
_AGENT_KEY_CANONICAL = (b"(11:private-key", b"(21:protected-private-key")


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet: its tag, its whole body (partial lengths joined), and where its header starts."""

    tag: int
    body: bytes
    offset: int


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A primary key or subkey of a transferable public key, as its (unverified) self-signatures state it."""

    fingerprint: str
    key_id: str
    primary_fingerprint: str
    is_subkey: bool
    algorithm: int
    created: int
    expires: int | None
    can_encrypt: bool
    user_ids: tuple[str, ...]
    revoked: bool = False


def iter_packets(data: bytes, *, what: str = "message") -> Iterator[Packet]:
    """Yield the packets of binary OpenPGP data; SecretError("malformed OpenPGP <what>: ...") if it is not."""
    pos = 0
    while pos < len(data):
        packet, pos = _read_packet(data, pos, what)
        yield packet


def recipient_key_ids(message: bytes, *, location: Location | None = None, subject: str | None = None) -> list[str]:
    """Return the key IDs (16 uppercase hex) an encrypted message is addressed to, in message order.

    Hidden recipients, passphrases and anything but an encrypted message are refused with SecretError;
    `location` and `subject` only go into that error.
    """
    try:
        return _recipients(message)
    except SecretError as exc:
        raise SecretError(exc.message, location=location, subject=subject) from None


def contains_private_key(data: bytes) -> bool:
    """True for private-key material: an armored private key anywhere, a binary secret key, a gpg-agent key.

    Binary data counts when it starts with a secret-key packet of a known version and public-key
    algorithm and the whole of it reads as OpenPGP packets: random bytes (an image in files/) that merely
    begin like one are not taken for a key.
    """
    if _PRIVATE_ARMOR in data or data.startswith(_AGENT_KEY_CANONICAL) or _AGENT_KEY.search(data):
        return True
    if not _starts_like_secret_key(data):
        return False
    try:
        for _ in iter_packets(data, what="key"):
            pass
    except SecretError:
        return False
    return True


def stream_contains_private_key(stream: BinaryIO, size: int) -> bool:
    """`contains_private_key` for a file of any size, never held whole: read in chunks (a marker across two
    chunks is still seen), and a binary key's packets walked by their headers, their bodies skipped."""
    head = stream.read(SCAN_CHUNK)
    if len(head) >= size:
        return contains_private_key(head)
    if head.startswith(_AGENT_KEY_CANONICAL):
        return True
    window, start = head, 0
    while window:
        # From the second window on, `^` may match only after a newline, never at the cut.
        if _PRIVATE_ARMOR in window or _AGENT_KEY.search(window, start):
            return True
        carry = window[-_MARKER_OVERLAP:]
        chunk = stream.read(SCAN_CHUNK)
        window, start = (carry + chunk, 1) if chunk else (b"", 0)
    return _starts_like_secret_key(head) and _packets_to_end(stream, size)


SCAN_CHUNK = 1 << 20
_MARKER_OVERLAP = 64  # longer than any marker searched for


def _starts_like_secret_key(data: bytes) -> bool:
    """The first packet is a whole secret-key packet of a known version and algorithm."""
    try:
        tag, start, length, partial = _read_header(data, 0, "key")
    except SecretError:
        return False
    if tag not in (TAG_SECRET_KEY, TAG_SECRET_SUBKEY) or partial or start + length > len(data):
        return False
    if length < 6 or data[start] not in (3, 4, 5, 6) or data[start + 5] not in _PUBLIC_KEY_ALGORITHMS:
        return False
    return data[start] != 4 or _plausible_v4_secret(data[start : start + length])


def _packets_to_end(stream: BinaryIO, size: int) -> bool:
    """The file is whole OpenPGP packets from its start to its end (each header read, each body skipped)."""
    pos = 0
    while pos < size:
        stream.seek(pos)
        header = stream.read(6)
        try:
            if header[:1] and header[0] & 0xC3 == 0x83:  # old format, indeterminate length: runs to the end
                return True
            _, start, length, partial = _read_header(header, 0, "key")
            pos += start + length
            while partial and pos < size:
                stream.seek(pos)
                length, partial, used = _new_length(stream.read(5), 0, "key")
                pos += used + length
        except SecretError:
            return False
    return pos == size


_MPI_COUNTS = {1: 2, 2: 2, 3: 2, 16: 3, 17: 4}  # RSA n e; Elgamal p g y; DSA p q g y
_FIXED_KEYS = {25: 32, 26: 56, 27: 32, 28: 57}  # X25519, X448, Ed25519, Ed448 (RFC 9580)
_S2K_USAGES = frozenset({0, 253, 254, 255, *range(1, 14)})


def _plausible_v4_secret(body: bytes) -> bool:
    """The public part of a v4 secret-key packet reads as well-formed MPIs/OIDs, then a valid S2K usage."""

    def mpi(pos: int | None) -> int | None:
        if pos is None or pos + 2 > len(body):
            return None
        bits = int.from_bytes(body[pos : pos + 2], "big")
        size = (bits + 7) // 8
        if bits == 0 or pos + 2 + size > len(body) or body[pos + 2].bit_length() != bits - 8 * (size - 1):
            return None
        return pos + 2 + size

    def oid(pos: int | None) -> int | None:
        if pos is None or pos >= len(body) or body[pos] in (0, 255) or pos + 1 + body[pos] > len(body):
            return None
        return pos + 1 + body[pos]

    algorithm, pos = body[5], 6
    end: int | None = pos
    if algorithm in _MPI_COUNTS:
        for _ in range(_MPI_COUNTS[algorithm]):
            end = mpi(end)
    elif algorithm in (19, 22):
        end = mpi(oid(end))
    elif algorithm == 18:
        end = mpi(oid(end))
        end = None if end is None or end >= len(body) or body[end] != 3 else end + 4  # KDF parameters
    else:
        end = pos + _FIXED_KEYS[algorithm]
    return end is not None and end < len(body) and body[end] in _S2K_USAGES


def public_key_info(armored_or_binary: bytes) -> list[KeyInfo]:
    """Return each primary key and subkey of transferable public keys (`gpg [--armor] --export` output).

    Fingerprints are computed; flags and expiry come from the newest self-signatures, which are read,
    not cryptographically verified. Only v4 keys are read.
    """
    certs: list[_Cert] = []
    context = ""  # what a signature packet applies to: "key", "uid", "attribute" or "subkey"
    for packet in iter_packets(_binary_key(armored_or_binary), what="key"):
        if packet.tag in (TAG_SECRET_KEY, TAG_SECRET_SUBKEY):
            raise SecretError(PRIVATE_KEY)
        if packet.tag == TAG_PUBLIC_KEY:
            certs.append(_Cert(_parse_key(packet.body)))
            context = "key"
        elif not certs:
            raise _malformed("key", f"expected a public key packet first, found a {_name(packet.tag)} packet")
        elif packet.tag == TAG_USER_ID:
            certs[-1].user_ids.append(packet.body.decode("utf-8", errors="replace"))
            context = "uid"
        elif packet.tag == TAG_USER_ATTRIBUTE:
            context = "attribute"
        elif packet.tag == TAG_PUBLIC_SUBKEY:
            certs[-1].subkeys.append(_parse_key(packet.body))
            context = "subkey"
        elif packet.tag == TAG_SIGNATURE:
            _apply_signature(certs[-1], context, packet.body)
    if not certs:
        raise SecretError("no public key found")
    return [info for cert in certs for info in cert.infos()]


# -- packet framing ---------------------------------------------------------------------------------


def _read_packet(data: bytes, pos: int, what: str) -> tuple[Packet, int]:
    """Read the packet whose header is at pos, following partial body lengths; return it and its end."""
    tag, start, length, partial = _read_header(data, pos, what)
    chunks: list[bytes] = []
    while True:
        end = start + length
        if end > len(data):
            detail = f"{_name(tag)} packet at offset {pos} needs {end - len(data)} more bytes"
            raise _malformed(what, f"truncated: {detail}")
        chunks.append(data[start:end])
        if not partial:
            return Packet(tag, b"".join(chunks), pos), end
        length, partial, start = _new_length(data, end, what)


def _read_header(data: bytes, pos: int, what: str) -> tuple[int, int, int, bool]:
    """Return (tag, body start, body length or first partial length, partial) of the header at pos."""
    ctb = _uint(data, pos, 1, what)
    if not ctb & 0x80:
        raise _malformed(what, f"byte 0x{ctb:02x} at offset {pos} is not a packet header")
    if ctb & 0x40:
        tag = ctb & 0x3F
        length, partial, start = _new_length(data, pos + 1, what)
    elif ctb & 0x03 == 0x03:  # old format, indeterminate length: the packet runs to the end
        tag, length, partial, start = (ctb >> 2) & 0x0F, len(data) - pos - 1, False, pos + 1
    else:
        size = (1, 2, 4)[ctb & 0x03]
        tag, length, partial, start = (ctb >> 2) & 0x0F, _uint(data, pos + 1, size, what), False, pos + 1 + size
    if tag == 0:
        raise _malformed(what, f"reserved packet tag 0 at offset {pos}")
    return tag, start, length, partial


def _new_length(data: bytes, pos: int, what: str) -> tuple[int, bool, int]:
    """Read a new-format body length at pos; return (length, partial, position after it)."""
    first = _uint(data, pos, 1, what)
    if first < 192:
        return first, False, pos + 1
    if first < 224:
        return ((first - 192) << 8) + _uint(data, pos + 1, 1, what) + 192, False, pos + 2
    if first == 255:
        return _uint(data, pos + 1, 4, what), False, pos + 5
    return 1 << (first & 0x1F), True, pos + 1


def _uint(data: bytes, pos: int, size: int, what: str) -> int:
    if pos + size > len(data):
        raise _malformed(what, f"truncated at offset {len(data)}")
    return int.from_bytes(data[pos : pos + size], "big")


def _malformed(what: str, detail: str) -> SecretError:
    return SecretError(f"malformed OpenPGP {what}: {detail}")


def _name(tag: int) -> str:
    return _PACKET_NAMES.get(tag, f"tag {tag}")


# -- encrypted messages -----------------------------------------------------------------------------


def _recipients(message: bytes) -> list[str]:
    if armor.is_armored(message):
        raise SecretError("ENC[GPG,...] holds the base64 of a binary message, not ASCII armor (gpg --armor)")
    if not message:
        raise _malformed("message", "empty")
    key_ids: list[str] = []
    passphrase = encrypted = False
    for packet in iter_packets(message):
        if encrypted:
            raise _malformed("message", f"a {_name(packet.tag)} packet follows the encrypted data")
        if packet.tag == TAG_PKESK:
            key_ids.append(_pkesk_key_id(packet.body))
        elif packet.tag == TAG_SKESK:
            passphrase = True
        elif packet.tag in _ENCRYPTED_DATA_TAGS:
            encrypted = True
        elif packet.tag not in (TAG_MARKER, TAG_PADDING):
            raise SecretError(f"not an encrypted message: it holds a {_name(packet.tag)} packet")
    if not encrypted:
        raise _malformed("message", "no encrypted data packet")
    if not key_ids:
        raise SecretError("no recipient key: the message is encrypted to a passphrase only (gpg --symmetric)")
    if passphrase:
        raise SecretError("also encrypted to a passphrase (gpg --symmetric): every reader must be a visible key")
    return key_ids


def _pkesk_key_id(body: bytes) -> str:
    """The recipient key ID of a v3 PKESK, or of a v6 one (RFC 9580 §5.1.1: from the fingerprint)."""
    version = _uint(body, 0, 1, "message")
    if version == 3:
        key_id = body[1:9] if len(body) >= 10 else b""
    elif version == 6:
        size = _uint(body, 1, 1, "message")
        key_version, fingerprint = body[2:3], body[3 : 2 + size]
        if size == 0:
            key_id = bytes(8)  # anonymous recipient
        elif len(body) < 2 + size or size < 9:
            key_id = b""
        else:  # a v4 key ID is the fingerprint's low 64 bits, a v6 (or v5) one its high 64 bits
            key_id = fingerprint[-8:] if key_version == b"\x04" else fingerprint[:8]
    else:
        raise SecretError(f"unsupported public-key encrypted session key version {version}")
    if len(key_id) != 8:
        raise _malformed("message", "truncated public-key encrypted session key packet")
    if key_id == bytes(8):
        raise SecretError(HIDDEN_RECIPIENT)
    return key_id.hex().upper()


# -- transferable public keys -----------------------------------------------------------------------


@dataclass(slots=True)
class _Key:
    """A key packet being read, with what its newest binding self-signature says so far."""

    fingerprint: str
    algorithm: int
    created: int
    flags: int | None = None
    expires_after: int = 0
    signed_at: int = -1
    revoked: bool = False

    def take(self, sig: _Signature) -> None:
        if sig.created >= self.signed_at:
            self.flags, self.expires_after, self.signed_at = sig.flags, sig.expires_after, sig.created

    def info(self, primary: _Key, user_ids: tuple[str, ...]) -> KeyInfo:
        is_subkey = self is not primary
        if self.flags is not None:
            can_encrypt = bool(self.flags & _FLAGS_ENCRYPT)
        else:  # no key flags: the algorithm decides, but a subkey without a binding signature is unusable
            can_encrypt = self.algorithm in _ENCRYPTION_ALGORITHMS and (self.signed_at >= 0 or not is_subkey)
        return KeyInfo(
            fingerprint=self.fingerprint,
            key_id=self.fingerprint[-16:],
            primary_fingerprint=primary.fingerprint,
            is_subkey=is_subkey,
            algorithm=self.algorithm,
            created=self.created,
            expires=self.created + self.expires_after if self.expires_after else None,
            can_encrypt=can_encrypt,
            user_ids=user_ids,
            revoked=self.revoked or primary.revoked,
        )


@dataclass(slots=True)
class _Cert:
    primary: _Key
    user_ids: list[str] = field(default_factory=list)
    subkeys: list[_Key] = field(default_factory=list)

    def infos(self) -> list[KeyInfo]:
        user_ids = tuple(self.user_ids)
        return [key.info(self.primary, user_ids) for key in (self.primary, *self.subkeys)]


@dataclass(frozen=True, slots=True)
class _Signature:
    type: int
    created: int
    flags: int | None
    expires_after: int
    issuer_key_id: str
    issuer_fingerprint: str

    def by(self, key: _Key) -> bool:
        if self.issuer_fingerprint:
            return self.issuer_fingerprint == key.fingerprint
        return self.issuer_key_id in ("", key.fingerprint[-16:])


def _binary_key(data: bytes) -> bytes:
    if not armor.is_armored(data):
        return data
    blocks = armor.dearmor(data)
    if any(kind == "PGP PRIVATE KEY BLOCK" for kind, _ in blocks):
        raise SecretError(PRIVATE_KEY)
    for kind, _ in blocks:
        if kind != "PGP PUBLIC KEY BLOCK":
            raise SecretError(f"expected a PGP PUBLIC KEY BLOCK, found a {kind}")
    return b"".join(binary for _, binary in blocks)


def _parse_key(body: bytes) -> _Key:
    version = _uint(body, 0, 1, "key")
    if version in (5, 6):
        raise SecretError(f"v{version} keys are not supported yet: tend reads v4 keys (gpg's default)")
    if version != 4:
        raise SecretError(f"v{version} keys are not supported: tend reads v4 keys (gpg's default)")
    if len(body) < 6 or len(body) > 0xFFFF:
        raise _malformed("key", f"a public key packet of {len(body)} bytes")
    digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False)
    return _Key(fingerprint=digest.hexdigest().upper(), algorithm=body[5], created=_uint(body, 1, 4, "key"))


def _apply_signature(cert: _Cert, context: str, body: bytes) -> None:
    """Apply a self-signature to the key it binds; other signatures (certifications by others) are ignored."""
    sig = _parse_signature(body)
    if sig is None or not sig.by(cert.primary):
        return
    target = cert.subkeys[-1] if context == "subkey" else cert.primary
    if (context == "uid" and sig.type in _SIG_USER_ID) or (context, sig.type) in _BINDINGS:
        target.take(sig)
    elif (context, sig.type) in _REVOCATIONS:
        target.revoked = True


def _parse_signature(body: bytes) -> _Signature | None:
    """Read a v4 signature's subpackets; None for other versions (v3 ones carry no flags or expiry)."""
    if _uint(body, 0, 1, "key") != 4:
        return None
    hashed_end = 6 + _uint(body, 4, 2, "key")
    unhashed_end = hashed_end + 2 + _uint(body, hashed_end, 2, "key")
    if unhashed_end > len(body):
        raise _malformed("key", "truncated signature")
    hashed = _subpackets(body[6:hashed_end])
    unhashed = _subpackets(body[hashed_end + 2 : unhashed_end])
    issuer = hashed.get(_SUB_ISSUER) or unhashed.get(_SUB_ISSUER, b"")
    issuer_fpr = hashed.get(_SUB_ISSUER_FPR) or unhashed.get(_SUB_ISSUER_FPR, b"")
    flags = hashed.get(_SUB_KEY_FLAGS)
    return _Signature(
        type=body[1],
        created=int.from_bytes(hashed.get(_SUB_CREATED, b"")[:4], "big"),
        flags=flags[0] if flags else (0 if flags is not None else None),
        expires_after=int.from_bytes(hashed.get(_SUB_KEY_EXPIRES, b"")[:4], "big"),
        issuer_key_id=issuer.hex().upper(),
        issuer_fingerprint=issuer_fpr[1:].hex().upper() if len(issuer_fpr) == 21 else "",
    )


def _subpackets(area: bytes) -> dict[int, bytes]:
    """Map each subpacket type (critical bit dropped) to its data; a later duplicate wins."""
    found: dict[int, bytes] = {}
    pos = 0
    while pos < len(area):
        first = area[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 255:
            length, pos = ((first - 192) << 8) + _uint(area, pos + 1, 1, "key") + 192, pos + 2
        else:
            length, pos = _uint(area, pos + 1, 4, "key"), pos + 5
        if length == 0 or pos + length > len(area):
            raise _malformed("key", "bad signature subpacket length")
        found[area[pos] & 0x7F] = area[pos + 1 : pos + length]
        pos += length
    return found
