"""StopFlag.raising: a stop signal inside the block raises Interrupted; outside it only sets the flag."""

from __future__ import annotations

import os
import signal

import pytest

from agent.run.stop import Interrupted, StopFlag


def test_a_signal_inside_raising_interrupts_and_outside_only_flags() -> None:
    with StopFlag() as flag:
        with pytest.raises(Interrupted) as stopped, flag.raising():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**7):
                pass
        assert stopped.value.signum == signal.SIGTERM and flag()
    with StopFlag() as later:
        os.kill(os.getpid(), signal.SIGINT)
        assert later.signal == signal.SIGINT
        # A stop that came first ends the next compile before it starts.
        with pytest.raises(Interrupted), later.raising():
            pass
