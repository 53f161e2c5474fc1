"""Downloads for URL sources: urllib with the environment's proxies and timeout, checked against a sha256."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
from collections.abc import Mapping

from agent.errors import HostError

TIMEOUT_VARIABLE = "TEND_HTTP_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_CHUNK = 1 << 16


def timeout_from(environ: Mapping[str, str]) -> float:
    """Seconds a download may stall: `TEND_HTTP_TIMEOUT`, else 60."""
    raw = environ.get(TIMEOUT_VARIABLE, "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise HostError(f"{TIMEOUT_VARIABLE} must be a number of seconds, not {raw!r}") from None
    return value if value > 0 else DEFAULT_TIMEOUT


def download(url: str, sha256: str) -> bytes:
    """The content at `url`, whose sha256 must be `sha256` (hex): HostError when it cannot be had or differs.

    urllib's default opener reads `http_proxy`, `https_proxy` and `no_proxy` from the environment.
    The content stays in memory until it is checked, so a mismatch leaves nothing anywhere.
    """
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    try:
        with urllib.request.urlopen(url, timeout=timeout_from(os.environ)) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                buffer.write(chunk)
    except urllib.error.HTTPError as error:
        raise HostError(f"cannot fetch {url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise HostError(f"cannot fetch {url}: {error.reason}") from None
    except (OSError, ValueError) as error:
        raise HostError(f"cannot fetch {url}: {error}") from None
    if digest.hexdigest() != sha256:
        raise HostError(
            f"checksum mismatch: {url} has sha256:{digest.hexdigest()}, the manifest says sha256:{sha256}; "
            "nothing was changed"
        )
    return buffer.getvalue()
