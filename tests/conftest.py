"""Suite-wide settings: the slow mark, hypothesis profiles, a CPU-time limit for mutation runs.

The slow mark
-------------
``python -m pytest -m "not slow"`` is the everyday run (under a minute on 2 cores);
``python -m pytest`` (the README's test command, and CI) runs everything. A test is
marked slow when it takes seconds and a faster test checks the same claim on smaller
cases; the executed tutorials are slow as a whole. The everyday run also draws fewer
hypothesis examples: the profile "everyday" (10 a test) and ``tests.helpers.examples``
(a tenth of a test's own count), the same properties on fewer cases.

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

from tests import helpers

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
settings.register_profile("everyday", settings.get_profile("repeatable"), max_examples=10)
# --hypothesis-profile=NAME, read after this file, overrides both
settings.load_profile(os.environ.get("MINI_BPTT_HYPOTHESIS_PROFILE", "repeatable"))

CPU_SECONDS = os.environ.get("MINI_BPTT_TEST_CPU_SECONDS")


def pytest_configure(config) -> None:
    """The everyday run (a mark expression of "not slow") draws fewer examples, unless a
    hypothesis profile was asked for."""
    asked = os.environ.get("MINI_BPTT_HYPOTHESIS_PROFILE") or config.getoption(
        "hypothesis_profile", None
    )
    if (config.option.markexpr or "").strip() == "not slow" and not asked:
        helpers.EVERYDAY = True
        settings.load_profile("everyday")


def pytest_collection_modifyitems(config, items) -> None:
    """Every executed notebook (``--nbmake``) is slow: each runs for many seconds."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


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
