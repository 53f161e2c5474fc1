"""The one key checker: a hash's keys against the ones allowed, with required keys and did-you-mean hints."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.formats.document import Document


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the candidate closest to `word`, or "" when none is close."""
    close = difflib.get_close_matches(str(word), sorted(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(
    document: Document,
    mapping: Mapping[Any, Any],
    path: tuple[Any, ...] = (),
    *,
    allowed: Collection[str],
    required: Collection[str] = (),
    prefix: str = "",
    unknown: str = "unknown key",
) -> None:
    """Refuse, as `document`'s kind of error at the key's line, a key of `mapping` not in `allowed`.

    `mapping` is the value at `path` in `document`; `prefix` leads each message (`source: `) and
    `unknown` names the fault (Hiera says "unrecognized key"). A missing required key is reported
    at the hash itself.
    """
    for key in mapping:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed) or f" (known: {', '.join(sorted(allowed))})"
            raise document.fail(f"{prefix}{unknown} '{key}'{hint}", *path, key)
    for key in required:
        if key not in mapping:
            raise document.fail(f"{prefix}missing key '{key}'", *path)
