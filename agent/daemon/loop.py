"""The daemon's loop, on a monotonic clock (a wall-clock jump neither skips nor repeats a run)."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.run.notify import Notifier
from agent.settings import AgentSettings

FIRST_RETRY_S = 30.0


def next_delay(failures: int, interval: float, splay: float, rng: random.Random) -> float:
    """Seconds until the next run: the interval plus a random splay; after failures an exponential
    back-off from 30 s, capped at the interval, so a broken run is retried soon but never hammered."""
    jitter = rng.uniform(0, splay) if splay > 0 else 0.0
    if failures <= 0:
        return interval + jitter
    # The exponent is capped: 2.0 ** 1024 overflows, and 30 s times 2 ** 32 is past any interval anyway.
    backoff = min(interval, FIRST_RETRY_S * 2.0 ** min(failures - 1, 32))
    return backoff + min(jitter, backoff / 2)


@dataclass(frozen=True, slots=True)
class Outcome:
    exit_code: int
    interrupted_by: int = 0  # the signal that stopped the run, if one did


class Daemon:
    """Calls `run_once` forever: SIGTERM/SIGINT stop it after the run in hand, SIGHUP reloads the timing."""

    def __init__(
        self,
        run_once: Callable[[], Outcome],
        timing: Callable[[], tuple[float, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        log: Callable[[str], None] = lambda text: None,
    ):
        self.run_once = run_once
        self.timing = timing
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.log = log
        self.stopping = False
        self.reload = False
        self.failures = 0

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, self._hangup)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _hangup(self, signum: int, frame: object) -> None:
        self.reload = True

    def serve(self, runs: int | None = None) -> int:
        """Run until stopped (or `runs` runs, for tests); 0 on a clean stop."""
        interval, splay = self.timing()
        next_at = self.clock() + (self.rng.uniform(0, splay) if splay > 0 else 0.0)
        done = 0
        while not self.stopping and (runs is None or done < runs):
            if self.reload:
                self.reload = False
                interval, splay = self.timing()
                self.log(f"reloaded the configuration: every {interval:.0f} s, splay {splay:.0f} s")
            wait = next_at - self.clock()
            if wait > 0:
                self.sleep(min(wait, 1.0))
                continue
            outcome = self.run_once()
            done += 1
            if outcome.interrupted_by:
                self.stopping = True
                break
            self.failures = 0 if outcome.exit_code == 0 else self.failures + 1
            delay = next_delay(self.failures, interval, splay, self.rng)
            self.log(f"run exited {outcome.exit_code}; next in {delay:.0f} s")
            next_at = self.clock() + delay
        return 0


def serve_cycles(load_settings: Callable[[], AgentSettings], notify: Notifier) -> int:
    """`tend daemon`: the timer's cycle on the configured interval and splay until stopped; the settings
    are read again for every run, and an error is said and retried after a back-off."""
    from agent.errors import TendError
    from agent.run.cycle import run_cycle
    from agent.run.request import CycleRequest

    def once() -> Outcome:
        try:
            done = run_cycle(load_settings(), CycleRequest(wait=True), notify)
        except TendError as error:
            notify.note(str(error))
            return Outcome(1)
        return Outcome(done.exit_code, done.signal)

    def timing() -> tuple[float, float]:
        settings = load_settings()
        return float(settings.interval_s), float(settings.splay_s)

    daemon = Daemon(once, timing, log=notify.note)
    daemon.install_signals()
    return daemon.serve()
