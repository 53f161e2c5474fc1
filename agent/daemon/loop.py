"""The daemon's loop: runs on schedule's cadence (agent.daemon.cadence), backs off, reloads, stops cleanly."""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from agent.run.notify import Notifier
from agent.settings import AgentSettings

if TYPE_CHECKING:
    from agent.daemon.cadence import Cadence, Clocks
    from agent.daemon.watch import Watch
    from agent.reports.model import ResourceResult

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


class Corrections(Protocol):
    """What the daemon does between timed runs (agent/daemon/watch.py): corrections of drift as it happens."""

    def poll(self) -> int: ...  # a correction when one is due; the signal that interrupted it (0: none)
    def due_in(self) -> float: ...  # seconds until one may be due
    def sleep(self, seconds: float) -> None: ...  # cut short when one may be due
    def stop(self) -> None: ...


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
        corrections: Corrections | None = None,
    ):
        """`corrections`: watch's, polled between timed runs; its `sleep` is then the daemon's."""
        from agent.daemon.cadence import Cadence, Clocks

        self.run_once = run_once
        self.timing = timing
        self.clocks = clocks or Clocks()
        self.corrections = corrections
        self.sleep = corrections.sleep if corrections is not None else sleep
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
            if self.corrections is not None:
                if self.corrections.poll():
                    self.stopping = True
                    break
                wait = min(wait, max(self.corrections.due_in(), 0.01))
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


def serve_cycles(load_settings: Callable[[], AgentSettings], notify: Notifier, *, watch: bool = False) -> int:
    """`tend daemon`: the timer's cycle on the configured interval and splay until stopped; the settings
    are read again for every run, and an error is said and retried after a back-off. With `watch` (or
    agent.yaml's `watch: true`), managed paths changed behind tend's back are corrected between runs."""
    from agent.errors import TendError
    from agent.run.cycle import run_cycle
    from agent.run.request import CycleRequest

    corrections = _corrections(load_settings, notify) if watch or load_settings().watch else None
    if corrections is not None:
        notify = dataclasses.replace(notify, compiled=corrections.compiled, result=_both(corrections, notify))

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

    daemon = Daemon(once, timing, log=notify.note, corrections=corrections)
    daemon.install_signals()
    try:
        return daemon.serve()
    finally:
        if corrections is not None:
            corrections.stop()


def _corrections(load_settings: Callable[[], AgentSettings], notify: Notifier) -> Watch:
    """Watch's corrections: each a converge of the current bundle for the resources changed (noop outside
    the run windows), its report of mode `watch`; an error is said and the daemon goes on."""
    from agent.daemon.watch import Watch
    from agent.daemon.watching import Budget, budget_of
    from agent.errors import TendError
    from agent.run.cycle import run_correction
    from agent.system.watcher import inotify_limits

    instances, watches = load_settings().watch_budget
    budget = budget_of(Budget(*inotify_limits()), instances, watches)

    def correct(rids: frozenset[str], at: datetime) -> int:
        try:
            return run_correction(load_settings(), rids, at, watched).signal
        except TendError as error:
            notify.note(f"watch: {error}")
            return 0

    watch = Watch(correct, budget, warn=notify.warning, note=notify.note)
    watched = dataclasses.replace(notify, compiled=watch.compiled, result=_both(watch, notify))
    return watch


def _both(watch: Watch, notify: Notifier) -> Callable[[ResourceResult], None]:
    """The notifier's result callback, after watch has taken the path's signature as tend left it."""

    def result(done: ResourceResult) -> None:
        watch.settle(done)
        notify.result(done)

    return result
