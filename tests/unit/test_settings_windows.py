"""agent.yaml's run windows: parsing with file:line refusals, host-local days and times, midnight crossings."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.settings import AgentSettings, load_settings, next_opening, windows_open


def settings_of(tmp_path: Path, text: str) -> AgentSettings:
    config = tmp_path / "agent.yaml"
    config.write_text(text)
    return load_settings(config, state_dir=tmp_path / "state", environ={})


# 2024-03-04 is a Monday.
@pytest.mark.parametrize(
    ("windows", "moment", "open_"),
    [
        ('[{days: mon-fri, from: "09:00", to: "17:00"}]', datetime(2024, 3, 4, 9, 0), True),
        ('[{days: mon-fri, from: "09:00", to: "17:00"}]', datetime(2024, 3, 4, 16, 59), True),
        ('[{days: mon-fri, from: "09:00", to: "17:00"}]', datetime(2024, 3, 4, 17, 0), False),
        ('[{days: mon-fri, from: "09:00", to: "17:00"}]', datetime(2024, 3, 9, 12, 0), False),  # Saturday
        ('[{days: "sat,sun", from: "00:00", to: "24:00"}]', datetime(2024, 3, 10, 23, 59), True),
        ('[{days: "*", from: "01:00", to: "02:00"}]', datetime(2024, 3, 7, 1, 30), True),
        ('[{days: [mon, wed], from: "01:00", to: "02:00"}]', datetime(2024, 3, 6, 1, 30), True),
        ('[{days: fri-mon, from: "01:00", to: "02:00"}]', datetime(2024, 3, 10, 1, 30), True),  # wraps: Sunday
        ('[{days: fri-mon, from: "01:00", to: "02:00"}]', datetime(2024, 3, 6, 1, 30), False),
        # Crossing midnight: Friday 22:00 to Saturday 02:00 belongs to Friday.
        ('[{days: fri, from: "22:00", to: "02:00"}]', datetime(2024, 3, 8, 23, 0), True),
        ('[{days: fri, from: "22:00", to: "02:00"}]', datetime(2024, 3, 9, 1, 59), True),
        ('[{days: fri, from: "22:00", to: "02:00"}]', datetime(2024, 3, 9, 2, 0), False),
        ('[{days: fri, from: "22:00", to: "02:00"}]', datetime(2024, 3, 8, 1, 0), False),  # Thursday's night
        ('[{days: fri, from: "22:00", to: "02:00"}]', datetime(2024, 3, 9, 23, 0), False),  # Saturday evening
    ],
)
def test_windows_are_host_local_and_belong_to_the_day_they_start(
    tmp_path: Path, windows: str, moment: datetime, open_: bool
) -> None:
    settings = settings_of(tmp_path, f"windows: {windows}\n")
    assert windows_open(settings.windows, moment) is open_


def test_no_windows_means_always_open(tmp_path: Path) -> None:
    assert windows_open(settings_of(tmp_path, "interval: 30m\n").windows, datetime(2024, 3, 4, 3, 0))


def test_the_next_opening_is_the_first_start_after_now(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, 'windows: [{days: mon-fri, from: "22:00", to: "02:00"}]\n')
    assert next_opening(settings.windows, datetime(2024, 3, 8, 23, 0)) == datetime(2024, 3, 11, 22, 0)
    assert next_opening(settings.windows, datetime(2024, 3, 4, 12, 0)) == datetime(2024, 3, 4, 22, 0)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('windows:\n  - {days: mon-fry, from: "09:00", to: "17:00"}\n', 2, "'mon-fry' is not a day"),
        ('windows:\n  - {days: mon, from: "9am", to: "17:00"}\n', 2, "'from' must be a time like \"09:00\""),
        ("windows:\n  - days: mon\n    from: '09:00'\n    to: 17:00\n", 4, "quote it"),
        ('windows:\n  - {days: mon, from: "09:00", until: "17:00"}\n', 2, "unknown key 'until'"),
        ('windows:\n  - {days: mon, from: "09:00"}\n', 2, "missing key 'to'"),
        ('interval: 1h\nwindows:\n  - {days: mon, from: "09:00", to: "09:00"}\n', 3, "the same time"),
        ("interval: 1h\nwindows: []\n", 2, "empty"),
        ("windows: mon-fri\n", 1, "'windows' has the wrong type"),
    ],
)
def test_a_bad_window_is_refused_at_its_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_of(tmp_path, text)
    assert f"agent.yaml:{line}" in str(raised.value)
    assert message in str(raised.value)
