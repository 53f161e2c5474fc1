"""The hiera-eyaml-gpg value format `ENC[GPG,<base64 of a binary OpenPGP message>]`, read and written."""

from __future__ import annotations

import base64
import re

from agent.data.encrypted import ENC_PREFIX
from agent.errors import SecretError
from agent.location import Location

SCHEME = "GPG"
BLOCK_WIDTH = 60

# eyaml's scheme names are word characters; anything else is not echoed back, it may be a typo'd secret.
_SCHEME_NAME = re.compile(r"\w{1,32}", re.ASCII)
# eyaml's reader assumes PKCS7 when a value names no scheme (`ENC[MIIB...]`).
_EYAML_DEFAULT_SCHEME = "PKCS7"


def parse_enc(text: str, *, location: Location | None = None, subject: str | None = None) -> bytes:
    """Return the binary OpenPGP message of an `ENC[GPG,...]` value; whitespace anywhere is ignored.

    `location` and `subject` (the data key) only go into the errors raised.
    """

    def fail(message: str) -> SecretError:
        return SecretError(message, location=location, subject=subject)

    compact = "".join(text.split())
    if not compact.startswith(ENC_PREFIX):
        raise fail("not an encrypted value: expected ENC[GPG,<base64>]")
    inner, bracket, rest = compact[len(ENC_PREFIX) :].partition("]")
    if not bracket:
        raise fail("encrypted value lacks its closing ']': expected ENC[GPG,<base64>]")
    if rest:
        raise fail("unexpected text after the closing ']' of the encrypted value")
    scheme, comma, payload = inner.partition(",")
    if not comma:
        scheme, payload = _EYAML_DEFAULT_SCHEME, inner
    if scheme != SCHEME:
        shown = repr(scheme) if _SCHEME_NAME.fullmatch(scheme) else "(malformed)"
        raise fail(f"unsupported encryption scheme {shown} (tend reads ENC[{SCHEME},...])")
    if not payload:
        raise fail(f"empty encrypted value: ENC[{SCHEME},] holds no message")
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError as exc:  # binascii.Error, or a non-ASCII character
        raise fail(f"bad base64 in ENC[{SCHEME},...] value: {exc}") from None


def format_enc(message: bytes) -> str:
    """Return the one-line `ENC[GPG,...]` form of a binary OpenPGP message."""
    return f"{ENC_PREFIX}{SCHEME},{base64.b64encode(message).decode('ascii')}]"


def format_enc_block(message: bytes, width: int = BLOCK_WIDTH) -> list[str]:
    """Return the `ENC[GPG,...]` form cut into lines of at most `width` characters.

    The writer emits them as a YAML folded block (`>`): folding joins the lines with spaces, which
    parse_enc ignores, so the value reads back to the same message.
    """
    if width < 1:
        raise ValueError(f"width must be positive, got {width}")
    text = format_enc(message)
    return [text[i : i + width] for i in range(0, len(text), width)]
