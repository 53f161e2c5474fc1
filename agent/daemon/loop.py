"""The daemon's loop: runs on schedule's cadence (agent.daemon.cadence), backs off, reloads, stops cleanly."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agent.run.notify import Notifier
from agent.settings import AgentSettings

if TYPE_CHECKING:
    from agent.daemon.cadence import Cadence, Clocks

FIRST_RETRY_S = 30


def delay_bounds(failures: int, interval: int, splay: int) -> tuple[int, int]:
    """Seconds until the next run, as schedule's `every(low).to(high)`: the interval plus up to the splay;
    after failures an exponential back-off from 30 s, capped at the interval, with at most half of it as
    splay, so a broken run is retried soon but never hammered."""
    if failures <= 0:
        return interval, interval + splay
    # The exponent is capped: 2 ** 1024 as a float overflows, and 30 s times 2 ** 32 is past any interval anyway.
    backoff = min(interval, FIRST_RETRY_S * 2 ** min(failures - 1, 32))
    return backoff, backoff + min(splay, backoff // 2)


@dataclass(frozen=True, slots=True)
class Outcome:
    exit_code: int
    interrupted_by: int = 0  # the signal that stopped the run, if one did


class Daemon:
    """Calls `run_once(wall time)` on the cadence: SIGTERM/SIGINT stop it after the run in hand (a run
    itself finishes the resource in hand), SIGHUP reloads the timing."""

    def __init__(
        self,
        run_once: Callable[[datetime], Outcome],
        timing: Callable[[], tuple[int, int]],
        *,
        clocks: Clocks | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = lambda text: None,
    ):
        from agent.daemon.cadence import Cadence, Clocks

        self.run_once = run_once
        self.timing = timing
        self.clocks = clocks or Clocks()
        self.sleep = sleep
        self.log = log
        self.stopping = False
        self.reload = False
        self.failures = 0
        self.outcome: Outcome | None = None
        self.cadence: Cadence = Cadence(self._run, self.clocks)

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, self._hangup)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _hangup(self, signum: int, frame: object) -> None:
        self.reload = True

    def _run(self) -> None:
        self.outcome = self.run_once(self.clocks.wall())

    def serve(self, runs: int | None = None) -> int:
        """Run until stopped (or `runs` runs, for tests); 0 on a clean stop."""
        interval, splay = self.timing()
        self.cadence.plan(*delay_bounds(0, interval, splay), first_within=splay)
        done = 0
        while not self.stopping and (runs is None or done < runs):
            if self.reload:
                self.reload = False
                interval, splay = self._reloaded(interval, splay)
            stepped = self.cadence.step()
            if stepped:
                self.log(f"the wall clock stepped {stepped:+.0f} s: the next run keeps its time")
            wait = self.cadence.idle_seconds()
            if wait > 0:
                self.sleep(min(wait, 1.0))
                continue
            outcome = self._run_pending()
            if outcome is None:
                continue
            done += 1
            if outcome.interrupted_by:
                self.stopping = True
                break
            self._after(outcome, interval, splay)
        return 0

    def _run_pending(self) -> Outcome | None:
        """Whatever schedule finds due; the run's outcome when there was one."""
        self.outcome = None
        self.cadence.run_pending()
        return self.outcome

    def _reloaded(self, interval: int, splay: int) -> tuple[int, int]:
        """SIGHUP: the timing read again (a broken agent.yaml is said and the old timing kept); a run
        already due keeps its time."""
        from agent.errors import TendError

        try:
            interval, splay = self.timing()
        except TendError as error:
            self.log(f"not reloaded: {error}")
            return interval, splay
        self.cadence.plan(*delay_bounds(self.failures, interval, splay), keep_earlier=True)
        self.log(f"reloaded the configuration: every {interval} s, splay {splay} s")
        return interval, splay

    def _after(self, outcome: Outcome, interval: int, splay: int) -> None:
        """A new cadence when the run changed it (first run, failures, recovery); schedule keeps it otherwise."""
        self.failures = 0 if outcome.exit_code == 0 else self.failures + 1
        bounds = delay_bounds(self.failures, interval, splay)
        if bounds != self.cadence.bounds:
            self.cadence.plan(*bounds)
        self.log(f"run exited {outcome.exit_code}; next in {self.cadence.idle_seconds():.0f} s")


def serve_cycles(load_settings: Callable[[], AgentSettings], notify: Notifier) -> int:
    """`tend daemon`: the timer's cycle on the configured interval and splay until stopped; the settings
    are read again for every run, and an error is said and retried after a back-off."""
    from agent.errors import TendError
    from agent.run.cycle import run_cycle
    from agent.run.request import CycleRequest

    def once(at: datetime) -> Outcome:
        try:
            done = run_cycle(load_settings(), CycleRequest(wait=True, at=at), notify)
        except TendError as error:
            notify.note(str(error))
            return Outcome(1)
        return Outcome(done.exit_code, done.signal)

    def timing() -> tuple[int, int]:
        settings = load_settings()
        return settings.interval_s, settings.splay_s

    daemon = Daemon(once, timing, log=notify.note)
    daemon.install_signals()
    return daemon.serve()
