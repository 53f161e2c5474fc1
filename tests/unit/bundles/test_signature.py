"""Commit signatures: the raw commit object split as git does, and trust failures raised as BundleErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.bundles.signature import split_signed_commit, verify_commit
from agent.errors import BundleError, SecretError, TendError

HEAD = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@x> 1 +0000\ncommitter a <a@x> 1 +0000\n"
SIGNATURE = b"-----BEGIN PGP SIGNATURE-----\n\niHUEABYKAB0WIQ\n=abcd\n-----END PGP SIGNATURE-----\n"
STORED = b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iHUEABYKAB0WIQ\n =abcd\n -----END PGP SIGNATURE-----\n"


def test_an_unsigned_commit_has_no_signature() -> None:
    raw = HEAD + b"\nmessage\n"
    assert split_signed_commit(raw) == (raw, None)


def test_the_gpgsig_header_and_its_continuation_lines_are_the_signature() -> None:
    assert split_signed_commit(HEAD + STORED + b"\nmessage\n") == (HEAD + b"\nmessage\n", SIGNATURE)


def test_other_multi_line_headers_stay_in_the_payload_verbatim() -> None:
    mergetag = b"mergetag object 1234\n type commit\n \n tag message\n"
    raw = HEAD + mergetag + STORED + b"encoding ISO-8859-1\n\nmessage\n"
    assert split_signed_commit(raw) == (HEAD + mergetag + b"encoding ISO-8859-1\n\nmessage\n", SIGNATURE)


def test_a_gpgsig_line_in_the_message_is_not_a_header() -> None:
    raw = HEAD + b"\ngpgsig -----BEGIN PGP SIGNATURE-----\n not a header\n"
    assert split_signed_commit(raw) == (raw, None)


def test_a_sha256_repository_signature_header() -> None:
    raw = HEAD + STORED.replace(b"gpgsig ", b"gpgsig-sha256 ", 1) + b"\nmessage\n"
    assert split_signed_commit(raw) == (HEAD + b"\nmessage\n", SIGNATURE)


def test_no_trusted_signers_refuses_before_any_key_is_read():
    with pytest.raises(BundleError, match="no trusted_signers in the agent config") as info:
        verify_commit(Path("/nonexistent/mirror"), "0" * 40, [], agent_keyring=None)  # type: ignore[arg-type]
    assert isinstance(info.value, TendError)
    assert not isinstance(info.value, SecretError)
