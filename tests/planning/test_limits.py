"""Resource limits: every request is sized first, refused with one clear error past the
limits, and never hangs; closed forms answer for any size."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import tracemalloc
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning import dp_breakpoints, limits
from mini_bptt.planning.baselines import BASELINES, baseline_cost, baseline_peak
from mini_bptt.planning.dp_breakpoints import BreakpointTables, best_split_option
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES, optimal_specs, optimal_tables
from mini_bptt.planning.dp_paper import PAPER_TABLES, paper_spec, paper_tables
from mini_bptt.planning.dp_tables import DPTables, best_option
from mini_bptt.planning.hsm_closed_form import hsm_cost, repetition_number
from mini_bptt.planning.plan import _why_not, run_replay
from mini_bptt.planning.recursions import optimal_recursion
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


def _arrays_of(tables) -> int:
    """Bytes of every array a table set holds (each buffer once, views not counted)."""
    seen, total, stack = set(), 0, [vars(tables)]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            owner = item if item.base is None else item.base
            while isinstance(owner, np.ndarray) and owner.base is not None:
                owner = owner.base
            if isinstance(owner, np.ndarray) and id(owner) not in seen:
                seen.add(id(owner))
                total += owner.nbytes
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__") and type(item).__module__.startswith("mini_bptt"):
            stack.append(vars(item))
    return total


@pytest.mark.parametrize(
    "model, strategy, output, alpha, steps, budget",
    [
        ("optimal", "msm", True, 7 / 3, 300, 500),  # narrow
        ("optimal", "msm", True, 7 / 3, 300, 2000),  # wide: other blocks
        ("optimal", "ism", False, 4.5, 2500, 120),  # past a coarse block of rows
        ("paper", "msm", True, 2000, 20, 2100),  # a shift of 2,000 units kept
        ("optimal", "msm", True, 10**6, 10, 30),  # a shift of 10**6 units left out
    ],
)
def test_the_arrays_a_set_allocates_are_counted_exactly(
    model, strategy, output, alpha, steps, budget
):
    with _fresh_tables(model, strategy, output, alpha) as tables:
        rows, width = tables.allocation(steps, budget)
        tables._allocate(rows, width)
        assert _arrays_of(tables) == tables.allocated_bytes(rows, width)


def _fresh_tables(model, strategy, output, alpha):
    OPTIMAL_TABLES.clear()  # empty, whatever earlier tests filled
    PAPER_TABLES.clear()
    units = units_for(alpha)
    if model == "paper":
        return paper_tables(strategy, units)
    return optimal_tables(strategy, units, output)


# (model, strategy, internal_has_output, alpha, steps, budget units): alpha = 10**6 with its
# shift left out, shifts of thousands of columns kept, narrow tables (at most 512 columns,
# blocks of 96 rows) and wide ones (32 rows), short fills and long ones (groups bounded past
# 1,024 rows), dense columns (ISM at large alpha), the harmonic ones (ISM without the output)
PEAK_GRID = [
    ("optimal", "msm", True, 10**6, 10, 30),
    ("optimal", "ism", False, 10**6, 40, 30),
    ("paper", "msm", True, 10**6, 40, 30),
    ("paper", "ism", True, 10**6, 200, 300),
    ("optimal", "msm", True, 2000, 100, 2100),
    ("optimal", "msm", False, 7, 200, 3000),
    ("optimal", "ism", True, 1000, 300, 1500),
    ("paper", "ism", True, 100, 1000, 90),
    ("optimal", "msm", True, 7 / 3, 300, 500),
    ("optimal", "msm", False, 1, 3000, 150),
    ("optimal", "ism", False, 4.5, 3000, 120),
    ("optimal", "ism", True, 4.5, 2000, 120),
    ("paper", "msm", True, 1.5, 3000, 900),
]


@pytest.mark.parametrize("model, strategy, output, alpha, steps, budget", PEAK_GRID)
def test_the_size_estimate_bounds_the_measured_peak_of_a_fill(
    model, strategy, output, alpha, steps, budget
):
    """``size()`` is compared with the ``table_bytes`` limit before a fill: it must be at
    least the most the fill holds at once (NumPy reports its buffers to tracemalloc), and
    not far above it (1.15 to 3.4 times on this grid when it was set)."""
    with _fresh_tables(model, strategy, output, alpha) as tables:
        estimate = tables.size(steps, budget).table_bytes
        tracemalloc.start()
        try:
            tables.ensure(steps, budget)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= estimate <= 4 * peak, (peak, estimate)
        assert tables.size(steps, budget - 1).table_bytes == 0  # filled already
        # the measured rule the estimate rests on: no table has more breakpoints
        zones = dp_breakpoints._one_state_budgets(tables.live)
        for spec in tables.live:
            bound = dp_breakpoints._breakpoint_bound(spec, steps, tables.width, zones)
            assert tables.bp_count[spec.name].sum() <= bound, spec.name


def test_a_size_past_any_limit_is_sized_without_overflow():
    with _fresh_tables("optimal", "msm", True, 2) as tables:
        for steps, width in [(10, 10**400), (10**400, 10), (10**13, 10**13)]:
            size = tables.size(steps, width)
            assert size.seconds == math.inf and size.table_bytes > 10**13


def test_a_refill_is_bounded_too():
    """A request past the filled rows refills the set at twice the rows, having released
    the old arrays first: the estimate bounds what the process then holds in all."""
    with _fresh_tables("optimal", "msm", True, 2.5) as tables:
        tracemalloc.start()
        try:
            tables.ensure(400, 200)
            held = tracemalloc.get_traced_memory()[0]
            estimate = tables.size(1500, 200).table_bytes
            assert tables.allocation(1500, 200) is not None
            tracemalloc.reset_peak()
            tables.ensure(1500, 200)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= estimate and held < estimate


@pytest.mark.parametrize("model, strategy, output", [("paper", "msm", True)] + [
    ("optimal", s, f) for s in ("ism", "msm") for f in (True, False)
])  # fmt: skip
def test_a_shift_past_the_width_is_left_out_and_the_entries_are_unchanged(model, strategy, output):
    """alpha = 1000 with budgets below 1,000 units: no internal state fits, so the options
    that save one are left out, and the set has 3 columns in front of budget 0 instead of
    1,001; every entry and every choice read back equal the full search's."""
    units = units_for(1000)
    specs = (
        (paper_spec(strategy, units),)
        if model == "paper"
        else tuple(optimal_specs(strategy, units, output).values())
    )
    full, fast = DPTables(specs), BreakpointTables(specs)
    steps, width = 150, 600
    full.ensure(steps, width)
    fast.ensure(steps, width)
    assert fast.width < units.internal and fast.off == units.hidden + 1
    for spec in specs:
        for t in range(steps + 1):
            for m in range(width + 1):
                expected = min(full.value(spec.name, t, m), full.inf)
                got = min(fast.value(spec.name, t, m), fast.inf)
                assert (expected >= full.inf) == (got >= fast.inf), (spec.name, t, m)
                if expected < full.inf:
                    assert got == expected, (spec.name, t, m)
                    if t >= 2 and m % 7 == 0:
                        chosen = best_split_option(fast, spec, t, m)
                        assert chosen == best_option(full, spec, t, m), (spec.name, t, m)


def test_alpha_a_million_with_a_small_budget_costs_little_and_is_exact():
    S = optimal_recursion("msm", units_for(10**6), True)
    tracemalloc.start()
    try:
        answers = [mb.cost(t, m, alpha=10**6) for t in (10, 30) for m in (1, 2, 5, 30)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answers == [S(t, m) for t in (10, 30) for m in (1, 2, 5, 30)]
    assert peak < 20 * 2**20  # a few hundred columns, not a million


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


TRACE = [("forward", 1), ("forward", 2), ("backward", 2), ("restore_hidden", 0),
         ("forward", 1), ("backward", 1)]  # fmt: skip


def test_checking_a_short_trace_at_alpha_a_million_is_cheap():
    """The optional optimum of a trace at alpha = 10**6 and a small budget: no internal
    state fits, so its DP has a few hundred columns (it had a million and took 21 s and
    7 GB): computed at once."""
    OPTIMAL_TABLES.clear()
    started = time.perf_counter()
    tracemalloc.start()
    try:
        verdict = mb.check(TRACE, steps=2, memory=2, alpha=10**6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2 and peak < 20 * 2**20
    assert verdict.valid and verdict.optimum_note == ""
    assert verdict.optimal_forward_count == 3 == verdict.forward_count


def test_the_optimum_of_check_obeys_the_table_limit_before_allocating():
    """With a budget past alpha = 10**6 units the DP has two million columns: over the
    table limit, ``check`` says why and allocates nothing. A limit between the main tables'
    bytes and the estimate refuses too: the rings, windows and candidate stores count."""
    OPTIMAL_TABLES.clear()
    big = 10**6 + 2
    for limit, memory, alpha in [(400_000_000, big, 10**6), (None, 2100, 2000)]:
        units = units_for(alpha)
        with optimal_tables("msm", units, True) as tables:
            estimate = tables.size(2, memory * units.hidden).table_bytes
            layout = tables._layout(*tables.allocation(2, memory * units.hidden))
        tables_only = 3 * layout.cols * layout.stride * 4  # S, R, P of int32
        assert tables_only < estimate
        limit = limit or (tables_only + estimate) // 2
        started = time.perf_counter()
        tracemalloc.start()
        try:
            with mb.resource_limits(table_bytes=limit):
                verdict = mb.check(TRACE, steps=2, memory=memory, alpha=alpha)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert time.perf_counter() - started < 2 and peak < 2**20  # refused before allocating
        assert verdict.valid and verdict.optimal_forward_count is None
        assert re.fullmatch(
            r"optimum not computed: its DP tables would need [\d.]+ [MG]iB, over the limit "
            r"of [\d.]+ MiB",
            verdict.optimum_note,
        ), verdict.optimum_note
        with mb.resource_limits(table_bytes=limit), pytest.raises(mb.ResourceLimitError):
            mb.cost(2, memory, alpha=alpha)


def test_a_million_columns_are_estimated_to_take_longer_than_check_may_wait():
    """A DP of few rows and two million columns spends its time making its arrays (9.5 s
    for 3.7 GB): the estimate counts it, so ``check`` gives up on that optimum at once
    instead of filling for 17 s."""
    OPTIMAL_TABLES.clear()
    with optimal_tables("msm", units_for(10**6), True) as tables:
        assert tables.size(2, 10**6 + 2).seconds > 10
    started = time.perf_counter()
    with mb.resource_limits(table_bytes=2**50, check_seconds=10):
        verdict = mb.check(TRACE, steps=2, memory=10**6 + 2, alpha=10**6)
    assert time.perf_counter() - started < 2
    assert re.fullmatch(
        r"optimum not computed: its DP would take [\d.]+ s, over the limit of 10 s",
        verdict.optimum_note,
    ), verdict.optimum_note


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
