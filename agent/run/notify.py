"""How a run tells what happens while it happens: callbacks its caller gives (the library never prints)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.reports.model import Report, ResourceResult

if TYPE_CHECKING:
    from agent.catalog.graph import Catalog


def _ignore(_: object) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Notifier:
    """Each callback is optional; the CLI prints them, a test may collect them."""

    warning: Callable[[str], None] = _ignore  # something is wrong but the run goes on
    note: Callable[[str], None] = _ignore  # what the run did (deployed, rolled back) or why it stopped
    result: Callable[[ResourceResult], None] = _ignore  # a resource was applied (or skipped)
    converged: Callable[[Report], None] = _ignore  # a converge ended; its report is stored
    compiled: Callable[[Catalog], None] = _ignore  # a converge compiled its catalog (watch reads its paths)


SILENT = Notifier()  # for callers that want only the returned values
