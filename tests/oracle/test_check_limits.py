"""``check`` under the resource limits: it names the class of a trace, gives the optimum
when it can afford it, and says why not when it cannot, without waiting or allocating."""

from __future__ import annotations

import re
import time
import tracemalloc

import pytest

import mini_bptt as mb
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES, optimal_tables
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.planning.units import grains_for


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
    state fits, so its DP has a few hundred columns, not a million (docs/engine.md,
    *Sizing*): computed at once."""
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
        units = grains_for(alpha)
        with optimal_tables("msm", units, True) as tables:
            estimate = tables.size(2, memory * units.hidden).table_bytes
            layout = tables.layout(*tables.allocation(2, memory * units.hidden))
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
    """A DP of few rows and two million columns spends its time making its arrays (docs/
    engine.md, *Time model*): the estimate counts it, so ``check`` gives up on that optimum
    at once instead of filling."""
    OPTIMAL_TABLES.clear()
    with optimal_tables("msm", grains_for(10**6), True) as tables:
        assert tables.size(2, 10**6 + 2).seconds > 10
    started = time.perf_counter()
    with mb.resource_limits(table_bytes=2**50, check_seconds=10):
        verdict = mb.check(TRACE, steps=2, memory=10**6 + 2, alpha=10**6)
    assert time.perf_counter() - started < 2
    assert re.fullmatch(
        r"optimum not computed: its DP would take [\d.]+ s, over the limit of 10 s",
        verdict.optimum_note,
    ), verdict.optimum_note


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
