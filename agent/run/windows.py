"""Run windows (agent.yaml `windows:`) bind every run: outside them it converges in noop and says what is pending."""

from __future__ import annotations

from datetime import datetime

from agent.reports.model import Report, Status
from agent.run.notify import Notifier
from agent.settings import AgentSettings, next_opening, windows_open

PENDING = frozenset([Status.WOULD_CHANGE, Status.WOULD_REFRESH])


def outside_windows(settings: AgentSettings, at: datetime | None, notify: Notifier) -> bool:
    """True (and said) when `at` (host-local time; None: now) lies outside every configured window."""
    moment = at or datetime.now()
    if windows_open(settings.windows, moment):
        return False
    opening = next_opening(settings.windows, moment)
    when = f" (the next opens {opening:%a %Y-%m-%d %H:%M})" if opening else ""
    notify.note(f"outside the run windows{when}: this run is noop")
    return True


def say_pending(report: Report, notify: Notifier) -> None:
    """What a run outside the windows left to do: the noop report's would-change resources."""
    pending = sorted(result.id for result in report.resources if result.status in PENDING)
    notify.note(f"pending until a window opens: {', '.join(pending) if pending else 'nothing'}")
