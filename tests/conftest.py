"""A per-test CPU-time limit for mutation runs; off unless MINI_BPTT_TEST_CPU_SECONDS is set.

A mutant can make a loop never end (a reader that solves the same sub-problem again, a
bisection that never narrows). mutmut stops it only after several times the CPU time of
all the tests it selects for that function, which for the DP readers is tens of minutes
per mutant. With the limit set, a test that uses more CPU seconds than that ends its
process with SIGXCPU, the signal of mutmut's own limit, so mutmut records the same
verdict, "timeout", only sooner. The slowest test takes about 40 CPU seconds when the
exhaustive search's answers are not cached yet, so 120 leaves a threefold margin.
"""

from __future__ import annotations

import os
import signal

import pytest

CPU_SECONDS = os.environ.get("MINI_BPTT_TEST_CPU_SECONDS")


def _stop_as_mutmut_would(signum, frame) -> None:
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGXCPU)


if CPU_SECONDS:

    @pytest.fixture(autouse=True)
    def cpu_time_limit():
        previous = signal.signal(signal.SIGPROF, _stop_as_mutmut_would)
        signal.setitimer(signal.ITIMER_PROF, float(CPU_SECONDS))
        yield
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
