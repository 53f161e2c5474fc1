"""The private-key scan of files of any size, read in chunks: the same answers as on the whole bytes."""

from __future__ import annotations

import io

import pytest

from agent.secrets.packets import SCAN_CHUNK, contains_private_key, stream_contains_private_key
from tests.unit.secrets import test_packets as known
from tests.unit.secrets.builders import new_packet, old_packet, partial_packet
from tests.unit.secrets.test_packets import SECRET_BODY

ARMOR = b"-----BEGIN PGP %s KEY BLOCK-----" % b"PRIVATE"
AGENT = b"Key: (private-key (ecc (curve Ed25519)(q #40#)\n"
FILLER = b"x" * (5 * SCAN_CHUNK)


def streamed(data: bytes) -> bool:
    return stream_contains_private_key(io.BytesIO(data), len(data))


def cases(test) -> list[bytes]:
    return next(mark.args[1] for mark in test.pytestmark if mark.name == "parametrize")


@pytest.mark.parametrize("data", cases(known.test_private_key_material) + cases(known.test_not_private_key_material))
def test_small_files_answer_as_before(data: bytes) -> None:
    assert streamed(data) is contains_private_key(data)


@pytest.mark.parametrize("marker", [ARMOR, b"\n" + AGENT])
@pytest.mark.parametrize("offset", [0, 1, len(ARMOR) // 2, len(ARMOR) - 1, 3 * SCAN_CHUNK])
def test_a_marker_anywhere_in_a_large_file_even_across_two_chunks(marker: bytes, offset: int) -> None:
    data = FILLER[: SCAN_CHUNK - offset] + marker + FILLER
    assert streamed(data) is True


def test_the_agent_form_only_at_the_start_of_a_line() -> None:
    assert streamed(FILLER[: SCAN_CHUNK - 2] + b"xKey: (private-key (ecc\n" + FILLER) is False


def test_a_binary_key_larger_than_a_chunk_is_walked_packet_by_packet() -> None:
    padding = new_packet(21, bytes(3 * SCAN_CHUNK))
    assert streamed(old_packet(5, SECRET_BODY) + padding + old_packet(13, b"uid")) is True
    assert streamed(new_packet(5, SECRET_BODY) + partial_packet(21, bytes(2 * SCAN_CHUNK + 5), 16)) is True
    # Begins like a key, then bytes that are no packet: an image, not a key.
    assert streamed(old_packet(5, SECRET_BODY) + padding + b"\x00 no packet") is False
    assert streamed(old_packet(5, SECRET_BODY) + padding[:-1]) is False


def test_large_files_without_a_key() -> None:
    assert streamed(FILLER) is False
    assert streamed(bytes(range(256)) * (SCAN_CHUNK // 64)) is False
