"""Resource limits: every request is sized first, refused with one clear error past the
limits, and never hangs."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning import limits
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES, optimal_tables
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.planning.recursions import optimal_recursion
from mini_bptt.planning.units import grains_for
from tests.helpers import examples


def test_alpha_a_million_with_a_small_budget_costs_little_and_is_exact():
    S = optimal_recursion("msm", grains_for(10**6), True)
    tracemalloc.start()
    try:
        answers = [mb.cost(t, m, alpha=10**6) for t in (10, 30) for m in (1, 2, 5, 30)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answers == [S(t, m) for t in (10, 30) for m in (1, 2, 5, 30)]
    assert peak < 20 * 2**20  # a few hundred columns, not a million


@settings(max_examples=examples(200), deadline=None)
@given(
    tables=st.integers(1, 3),
    splits=st.integers(1, 2),
    steps=st.integers(1, 10**7),
    columns=st.integers(1, 10**5),
)
def test_the_time_estimate_grows_with_every_dimension(tables, splits, steps, columns):
    size = limits.dp_size(tables, splits, steps, columns).seconds
    assert 0 < size < math.inf
    for more in ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1)):
        bigger = [a + b for a, b in zip((tables, splits, steps, columns), more, strict=True)]
        assert limits.dp_size(*bigger).seconds > size


def test_the_default_time_limit_admits_what_runs_in_a_minute_and_refuses_hours():
    """plan(100_000, 200, alpha=5) fills in under a minute (bench/bench_planner.py): the
    guard, whose estimate errs long, must let it through; a million steps must not."""
    OPTIMAL_TABLES.clear()
    units = grains_for(5)
    with mb.resource_limits(table_bytes=2**40), optimal_tables("msm", units, True) as tables:
        assert limits.fits(tables.size(100_000, 200 * units.hidden), 600) == ""
        reason = limits.fits(tables.size(10**6, 1000 * units.hidden), 600)
        assert re.fullmatch(
            r"its DP would take [\d.]+ minutes, over the limit of 10 minutes", reason
        )


def test_limits_refuse_tables_time_and_actions_and_come_back_after_the_block():
    too_big = pytest.raises(mb.ResourceLimitError, match="tables would need .* over the limit")
    with mb.resource_limits(table_bytes=10_000), too_big:
        mb.cost(5000, "5%", alpha=5)
    too_long = pytest.raises(mb.ResourceLimitError, match="DP would take .* over the limit")
    with mb.resource_limits(seconds=0.01), too_long:
        mb.plan(5000, "5%", alpha=5, model="paper")
    with mb.resource_limits(actions=1000):
        with pytest.raises(mb.ResourceLimitError, match="actions, over the limit of 1000"):
            mb.plan(500, 5, strategy="hsm")
        assert mb.cost(500, 5, strategy="hsm") == hsm_cost(500, 5)  # cost still answers
    assert len(mb.plan(500, 5, strategy="hsm").actions) > 1000


@pytest.mark.parametrize(
    "changes, error",
    [({"tables": 1}, TypeError), ({"seconds": 0}, ValueError), ({"actions": -1}, ValueError)],
)
def test_resource_limits_name_a_bad_change(changes, error):
    with pytest.raises(error), mb.resource_limits(**changes):
        pass


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(steps=10**6, memory="5%"),
        dict(steps=10**5, memory="5%", alpha=5),
        dict(steps=10**400, memory="5%"),
        dict(steps=10**20, memory=3, strategy="hsm"),
        dict(steps=10**5, memory=1, strategy="recompute"),
        dict(steps=10**9, memory=10**9, strategy="chen"),
    ],
)
def test_huge_requests_are_refused_at_once(kwargs):
    started = time.perf_counter()
    with pytest.raises(mb.ResourceLimitError) as caught:
        mb.plan(**kwargs)
    assert time.perf_counter() - started < 5  # refused before any work, not after it
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


def test_huge_budgets_and_alpha_are_named():
    assert mb.cost(10, 10**120, strategy="hsm") == 19
    assert mb.cost(10, 10**120) == 10
    for strategy in ("hsm", "msm"):
        with pytest.raises(
            ValueError, match="^memory must come to at most 1.00e\\+120 hidden-state units, got"
        ):
            mb.cost(10, 10**400, strategy=strategy)
    with pytest.raises(
        ValueError, match="alpha must be a number from 1 to 1e\\+06, got 1.00e\\+400"
    ):
        mb.cost(10, "5%", alpha=10**400)


def test_the_environment_limit_refuses_before_allocating():
    """MINI_BPTT_TABLE_BYTES=400000000: a DP of two million columns (8 GiB) is refused at
    once, and the process stays small; the small-budget request of the issue runs."""
    code = (
        "import resource, mini_bptt as mb\n"
        "print(mb.cost(10, 30, alpha=10**6))\n"
        "try:\n"
        "    mb.cost(10, 10**6 + 30, alpha=10**6)\n"
        "except mb.ResourceLimitError as exc:\n"
        "    print(exc)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MINI_BPTT_TABLE_BYTES": "400000000"},
    )
    answer, refusal, peak_kib = run.stdout.splitlines()
    assert answer == "19"
    assert "its DP tables would need" in refusal and "over the limit of 381 MiB" in refusal
    assert int(peak_kib) < 400 * 1024
