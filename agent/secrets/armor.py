"""OpenPGP ASCII armor (RFC 4880 §6, RFC 9580 §6.2) taken off: block type, headers skipped, CRC checked."""

from __future__ import annotations

import base64
import re

from agent.errors import SecretError

_BEGIN = re.compile(rb"-----BEGIN (PGP [A-Z ,/0-9]+)-----")
_END = re.compile(rb"-----END (PGP [A-Z ,/0-9]+)-----")
_HEADER = re.compile(rb"[!-9;-~]+: ")  # `Key: value`; base64 never holds a colon
_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB


def is_armored(data: bytes) -> bool:
    """True when data opens (after blank space) with an armor line such as `-----BEGIN PGP ...-----`."""
    return data.lstrip().startswith(b"-----BEGIN PGP ")


def dearmor(data: bytes) -> list[tuple[str, bytes]]:
    """Return the type (`PGP PUBLIC KEY BLOCK`) and binary contents of every armored block in data."""
    lines = [line.strip() for line in data.splitlines()]
    blocks: list[tuple[str, bytes]] = []
    i = 0
    while i < len(lines):
        begin = _BEGIN.fullmatch(lines[i])
        if begin is None:
            i += 1
            continue
        kind = begin.group(1).decode("ascii")
        binary, i = _read_block(lines, i + 1, kind)
        blocks.append((kind, binary))
    if not blocks:
        raise _malformed("no -----BEGIN PGP ...----- line")
    return blocks


def _read_block(lines: list[bytes], i: int, kind: str) -> tuple[bytes, int]:
    """Read one block's headers, base64 and checksum from line i; return its bytes and the line after END."""
    while i < len(lines) and _HEADER.match(lines[i]):
        i += 1
    if i < len(lines) and not lines[i]:
        i += 1
    body: list[bytes] = []
    checksum: bytes | None = None
    while i < len(lines) and not lines[i].startswith(b"-----"):
        if lines[i].startswith(b"=") and len(lines[i]) == 5:
            checksum = lines[i][1:]
        elif lines[i]:
            body.append(lines[i])
        i += 1
    end = _END.fullmatch(lines[i]) if i < len(lines) else None
    if end is None:
        raise _malformed(f"no -----END {kind}----- line")
    if end.group(1).decode("ascii") != kind:
        raise _malformed(f"-----BEGIN {kind}----- ends with -----END {end.group(1).decode('ascii')}-----")
    binary = _b64(b"".join(body))
    if checksum is not None and _b64(checksum) != _crc24(binary).to_bytes(3, "big"):
        raise _malformed("checksum mismatch: the armored text is damaged")
    return binary, i + 1


def _b64(text: bytes) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise _malformed(f"bad base64: {exc}") from None


def _crc24_entry(byte: int) -> int:
    crc = byte << 16
    for _ in range(8):
        crc <<= 1
        if crc & 0x1000000:
            crc ^= _CRC24_POLY
    return crc & 0xFFFFFF


_CRC24_TABLE = tuple(_crc24_entry(byte) for byte in range(256))


def _crc24(data: bytes) -> int:
    """The armor checksum of RFC 4880 §6.1, a byte at a time."""
    crc = _CRC24_INIT
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24_TABLE[((crc >> 16) ^ byte) & 0xFF]
    return crc


def _malformed(detail: str) -> SecretError:
    return SecretError(f"malformed ASCII armor: {detail}")
