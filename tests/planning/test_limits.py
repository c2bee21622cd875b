"""Resource limits: every request is sized first, refused with one clear error past the
limits, and never hangs; closed forms answer for any size."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning import limits
from mini_bptt.planning.baselines import BASELINES, baseline_cost, baseline_peak
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES, optimal_tables
from mini_bptt.planning.hsm_closed_form import hsm_cost, repetition_number
from mini_bptt.planning.plan import _why_not, run_replay
from mini_bptt.planning.units import units_for


@pytest.mark.parametrize("alpha", [1, 1.5, 7 / 3, 4.5])
def test_baseline_closed_forms_equal_the_replay_of_their_actions(alpha):
    units = units_for(alpha)
    for steps in range(1, 150):
        for strategy, build in BASELINES.items():
            replay = run_replay(build(steps), steps, units, None, True)
            assert replay.forward_count == baseline_cost(strategy, steps), (strategy, steps)
            peak = baseline_peak(strategy, steps, units.hidden, units.internal)
            assert replay.peak == peak, (strategy, steps)


@pytest.mark.parametrize("t, m", [(10**30, 1), (10**30, 2), (10**30, 3), (10**18, 40), (7, 10**30)])
def test_hsm_closed_form_answers_for_any_size(t, m):
    r = repetition_number(t, m)
    from math import comb

    assert comb(m + r, r) >= t and (r == 0 or comb(m + r - 1, r - 1) < t)
    if m == 1:
        assert hsm_cost(t, m) == t * (t + 1) // 2
    if m >= t:
        assert hsm_cost(t, m) == 2 * t - 1
    assert mb.cost(t, m, strategy="hsm") == hsm_cost(t, m)


@pytest.mark.parametrize("width", [500, 2000])  # narrow tables and wide ones: other blocks
def test_table_bytes_are_estimated_exactly(width):
    units = units_for(7 / 3)
    OPTIMAL_TABLES.clear()  # empty, whatever earlier tests filled
    with optimal_tables("msm", units, True) as tables:
        size = tables.size(300, width)
        tables.ensure(300, width)
        assert size.table_bytes == sum(table.nbytes for table in tables.tab.values())
        assert tables.size(200, 400).table_bytes == 0  # covered already


@settings(max_examples=200, deadline=None)
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
    units = units_for(5)
    with mb.resource_limits(table_bytes=2**40), optimal_tables("msm", units, True) as tables:
        assert _why_not(tables, "msm", 100_000, 200 * units.hidden, 600) == ""
        reason = _why_not(tables, "msm", 10**6, 1000 * units.hidden, 600)
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
    assert mb.cost(10, 10**400, strategy="hsm") == 19
    assert mb.cost(10, 10**400) == 10
    with pytest.raises(
        ValueError, match="alpha must be a number from 1 to 1e\\+06, got 1.00e\\+400"
    ):
        mb.cost(10, "5%", alpha=10**400)


def test_check_answers_without_waiting_for_an_optimum_it_cannot_afford():
    plan = mb.plan(4000, 20, strategy="hsm")
    with mb.resource_limits(check_seconds=1e-3):
        verdict = mb.check(plan.actions, steps=4000, memory=20)
    assert verdict.valid and verdict.strategy == "hsm"
    assert verdict.strategy_optimal_forward_count == plan.forward_count == hsm_cost(4000, 20)
    assert verdict.optimal_forward_count is None and verdict.overhead is None
    assert verdict.optimum_note.startswith("optimum not computed: its DP would take")
    small = mb.check(mb.plan(60, 6, strategy="hsm").actions, steps=60, memory=6)
    assert small.optimum_note == "" and small.optimal_forward_count == mb.cost(60, 6)
    assert small.overhead == small.forward_count / small.optimal_forward_count


def test_check_names_the_class_of_the_trace():
    cases = [("hsm", "30%", "hsm"), ("ism", "30%", "ism"), ("msm", "30%", "msm")]
    for strategy, memory, expected in cases + [("bptt", "100%", "ism")]:
        plan = mb.plan(12, memory, alpha=2, strategy=strategy)
        verdict = mb.check(plan.actions, steps=12, memory=memory, alpha=2)
        assert verdict.strategy == expected
        own = mb.cost(12, memory, alpha=2, strategy=expected)
        assert verdict.strategy_optimal_forward_count == own
        assert verdict.optimal_forward_count == mb.cost(12, memory, alpha=2)


def test_check_reports_the_optimum_for_its_own_flag():
    plan = mb.plan(20, 4, alpha=1, internal_has_output=False)
    verdict = mb.check(plan.actions, steps=20, memory=4, internal_has_output=False)
    with_output = mb.cost(20, 4, internal_has_output=True)
    assert verdict.optimal_forward_count == plan.forward_count != with_output


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "1000000", "5%"],
        ["plan", "100000", "5%", "--alpha", "5"],
        ["plan", "99999999999999999999", "3", "--strategy", "hsm"],
        ["plan", "10", "5%", "--alpha", "1e400"],
        ["plan", "1e400", "5%"],
        ["table", "--steps", "1e400", "--memory", "5%"],
    ],
)
def test_cli_refuses_huge_requests_in_one_line(argv):
    run = subprocess.run(
        [sys.executable, "-m", "mini_bptt", *argv], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stderr
    assert run.stdout == "" and run.stderr.count("\n") == 1
    assert run.stderr.startswith("mini-bptt: error: ") and "Traceback" not in run.stderr


def test_check_says_why_each_optimum_was_not_computed():
    plan = mb.plan(3000, "2%", alpha=2, strategy="ism")
    with mb.resource_limits(check_seconds=1e-3):
        verdict = mb.check(plan.actions, steps=3000, memory="2%", alpha=2)
    assert verdict.valid and verdict.strategy == "ism"
    # the ism tables are filled (plan above): the class's optimum is free, the MSM one is not
    assert verdict.strategy_optimal_forward_count == plan.forward_count
    assert verdict.overhead is None
    assert verdict.optimal_forward_count is None
    assert re.fullmatch(
        r"optimum not computed: its DP would take [\d.]+ s, over the limit of 0.001 s",
        verdict.optimum_note,
    )


def test_the_repetition_number_is_the_least_r_whose_binomial_reaches_t():
    for m in range(1, 7):
        for t in range(0, 300):
            least = next(r for r in range(t + 1) if comb(m + r, r) >= t)
            assert repetition_number(t, m) == least, (t, m)
