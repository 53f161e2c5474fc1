"""agent.yaml's `watch` and `watch_budget`: parsed, and refused at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.settings import load_settings


def test_watch_is_off_by_default_and_its_budget_is_the_kernels_share(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("interval: 1h\n")
    settings = load_settings(config, state_dir=tmp_path / "state", environ={})
    assert settings.watch is False and settings.watch_budget == (None, None)
    config.write_text("watch: true\nwatch_budget: {instances: 4}\n")
    settings = load_settings(config, state_dir=tmp_path / "state", environ={})
    assert settings.watch is True and settings.watch_budget == (4, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("watch: yes please\n", "agent.yaml:1: 'watch' has the wrong type (str)"),
        ("watch: true\nwatch_budget: {instances: 0}\n", "agent.yaml:2: watch_budget: 'instances' must be a whole"),
        ("watch_budget: {inotify: 3}\n", "agent.yaml:1: watch_budget: unknown key 'inotify'"),
    ],
)
def test_a_bad_watch_setting_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(config, state_dir=tmp_path / "state", environ={})
    assert message in str(raised.value)
