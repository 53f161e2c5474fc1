"""TEND_GPG_JOBS: how many gpg processes a run decrypts with at once (default: one per CPU this process may use)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.settings import AgentSettings, load_settings


def settings_with(tmp_path: Path, environ: dict[str, str]) -> AgentSettings:
    config = tmp_path / "agent.yaml"
    config.write_text("interval: 30m\n")
    return load_settings(config, state_dir=tmp_path / "state", environ=environ)


def test_the_default_is_one_gpg_per_usable_cpu(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {})
    assert settings.gpg_jobs is None
    assert settings.decrypt_jobs() == len(os.sched_getaffinity(0))


def test_the_variable_sets_it(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {"TEND_GPG_JOBS": "1"})
    assert settings.decrypt_jobs() == 1


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_anything_but_a_positive_whole_number_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=f"TEND_GPG_JOBS: '{value}' is not a positive whole number"):
        settings_with(tmp_path, {"TEND_GPG_JOBS": value})
