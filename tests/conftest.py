"""Suite-wide settings: hypothesis profiles, and a CPU-time limit for mutation runs.

Hypothesis profiles
-------------------
``python -m pytest`` (and so CI) runs the profile "repeatable": derandomized, with no
example database, no deadline and no too-slow health check, so every run on every host
draws the same examples and gives the same verdict; a landing never depends on luck. A
failure prints its ``@reproduce_failure`` blob. Exploration with fresh random seeds, and
at least 1000 examples where a test does not fix its own count (the fuzz tests scale theirs),
is a separate command whose findings are reported, not a gate::

    python -m pytest -p no:nbmake -o addopts= -q --hypothesis-profile=explore \
        tests/users/test_fuzz.py tests/cells tests/oracle

or ``MINI_BPTT_HYPOTHESIS_PROFILE=explore python -m pytest ...``.

CPU-time limit
--------------
Off unless MINI_BPTT_TEST_CPU_SECONDS (seconds per test) is set. A mutant can make a
loop never end (a reader that solves the same sub-problem again, a bisection that never
narrows). mutmut stops it only after several times the CPU time of all the tests it
selects for that function, which for the DP readers is tens of minutes per mutant. With
the limit set, a test that uses more CPU seconds than that ends its process with
SIGXCPU, the signal of mutmut's own limit, so mutmut records the same verdict,
"timeout", only sooner. The slowest test takes about 40 CPU seconds when the exhaustive
search's answers are not cached yet, so 120 leaves a threefold margin.
"""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "repeatable",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", settings.get_profile("repeatable"), derandomize=False, max_examples=1000
)
# --hypothesis-profile=NAME, read after this file, overrides both
settings.load_profile(os.environ.get("MINI_BPTT_HYPOTHESIS_PROFILE", "repeatable"))

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
