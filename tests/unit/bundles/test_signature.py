"""Trust failures of a commit are BundleErrors: a refused bundle, not a secret that failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.bundles.signature import verify_commit
from agent.errors import BundleError, SecretError, TendError


def test_no_trusted_signers_refuses_before_any_key_is_read():
    with pytest.raises(BundleError, match="no trusted_signers in the agent config") as info:
        verify_commit(Path("/nonexistent/mirror"), "0" * 40, [], agent_keyring=None)  # type: ignore[arg-type]
    assert isinstance(info.value, TendError)
    assert not isinstance(info.value, SecretError)
