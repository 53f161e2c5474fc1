"""agent.yaml's rollback_on: the reasons a new commit goes back to the last good bundle, checked at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.settings import load_settings


def _load(tmp_path: Path, text: str):
    config = tmp_path / "agent.yaml"
    config.write_text(text)
    return load_settings(config, environ={})


def test_rollback_on_defaults_to_checks(tmp_path: Path) -> None:
    assert _load(tmp_path, "interval: 30m\n").rollback_on == frozenset({"checks"})
    assert _load(tmp_path, "rollback_on: [checks, failures]\n").rollback_on == frozenset({"checks", "failures"})


def test_an_unknown_rollback_reason_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, "interval: 30m\nrollback_on:\n  - checks\n  - failure\n")
    assert str(raised.value).startswith(f"{tmp_path}/agent.yaml:4: rollback_on: unknown reason 'failure'")
    assert "did you mean 'failures'?" in str(raised.value)
