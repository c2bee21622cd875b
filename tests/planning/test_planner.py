"""Planner: the paper's recursions, closed form, bounds, baselines, validity of every plan."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from functools import cache

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning.dp_optimal import optimal_cost, optimal_tables
from mini_bptt.planning.hsm_closed_form import hsm_cost, hsm_split
from mini_bptt.planning.plan import bptt_peak
from mini_bptt.planning.plan_value import run_replay
from mini_bptt.planning.recursions import paper_recursion
from mini_bptt.planning.units import grains_for
from tests.helpers import examples

REFERENCE_HSM = {
    (10, 2): 30,
    (10, 3): 25,
    (20, 3): 65,
    (100, 5): 416,
    (100, 10): 322,
    (1000, 10): 4636,
    (1000, 32): 3405,
    (1000, 50): 2948,
    (1000, 500): 2498,
}


hsm_recursion = paper_recursion("hsm", grains_for(1))  # C(t, m) with m hidden slots


@cache
def ism_in_slots(t: int, k: int) -> int:
    """The paper's ISM in its own units: k internal-state slots, the core being one."""
    if t <= 1:
        return t
    if k == 1:
        return t * (t + 1) // 2
    if k >= t:
        return t
    return min(y + ism_in_slots(y - 1, k) + ism_in_slots(t - y, k - 1) for y in range(1, t + 1))


@pytest.mark.parametrize("key, value", sorted(REFERENCE_HSM.items()))
def test_reference_values(key, value):
    steps, memory = key
    assert hsm_cost(steps, memory) == value
    assert mb.cost(steps, memory, strategy="hsm") == value
    assert mb.cost(steps, memory, strategy="hsm", model="paper") == value


def test_hsm_closed_form_equals_recursion_and_optimal_dp():
    for t in range(0, 80):
        for m in range(1, 12):
            assert hsm_cost(t, m) == hsm_recursion(t, m), (t, m)
    units = grains_for(1)
    with optimal_tables("hsm", units, True) as tables:
        for t in range(1, 80):
            for m in range(1, 12):
                assert optimal_cost(tables, t, m) == hsm_cost(t, m), (t, m)


def test_hsm_equals_checkpoint_schedules_revolve():
    from checkpoint_schedules import Forward, Revolve

    for steps in range(2, 41):
        for snapshots in range(1, 9):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                forwards = sum(
                    a.n1 - a.n0 for a in Revolve(steps, snapshots) if isinstance(a, Forward)
                )
            assert mb.cost(steps, snapshots, strategy="hsm") == forwards, (steps, snapshots)
            plan = mb.plan(steps, snapshots, strategy="hsm")
            assert plan.forward_count == forwards


@pytest.mark.parametrize("alpha", [1, 1.5, 2, 3, 4.5])
def test_paper_ism_in_its_own_units(alpha):
    for t in range(1, 30):
        for k in range(1, t + 2):
            memory = 1 + Fraction(alpha) * (k - 1)
            got = mb.cost(t, float(memory), alpha=alpha, strategy="ism", model="paper")
            assert got == ism_in_slots(t, k), (t, k)


@pytest.mark.parametrize("internal_has_output", [True, False])
@pytest.mark.parametrize(
    "alpha", [1, 2, *(pytest.param(a, marks=pytest.mark.slow) for a in (1.5, 3, 4.5))]
)
def test_paper_is_never_below_optimal(alpha, internal_has_output):
    units = grains_for(alpha)
    for strategy in ("hsm", "ism", "msm"):
        if not internal_has_output and strategy != "hsm":
            continue  # the paper's ism/msm need the output inside the internal state
        for t in range(1, 41):
            top = units.whole_grains(bptt_peak(t, units))
            for m in range(units.hidden, top + 1):
                memory = float(Fraction(m, units.hidden))
                paper = mb.cost(t, memory, alpha=alpha, strategy=strategy, model="paper")
                optimal = mb.cost(
                    t,
                    memory,
                    alpha=alpha,
                    strategy=strategy,
                    internal_has_output=internal_has_output,
                )
                assert optimal <= paper, (strategy, t, memory)


def test_optimal_msm_is_never_above_hsm_or_ism():
    for alpha in (1, 2, 4.5):
        for t in range(1, 30):
            for m in range(1, 20):
                costs = {s: mb.cost(t, m, alpha=alpha, strategy=s) for s in ("hsm", "ism", "msm")}
                assert costs["msm"] <= min(costs["hsm"], costs["ism"])


@settings(max_examples=examples(300), deadline=None)
@given(t=st.integers(1, 99_999), m=st.integers(1, 999))
def test_hsm_bounds_stated_in_the_paper(t, m):
    c = hsm_cost(t, m)
    assert c <= m * t ** (1 + 1 / m) * (1 + 1e-12)
    assert c < 4 * t ** (1 + 1 / m)
    for a in range(1, 12):
        if t < m**a / math.factorial(a):
            assert c <= (a + 1) * t


@pytest.mark.parametrize("t, m", [(10**9, 30), (10**7, 3), (123_456_789, 77)])
def test_huge_hsm_cost_satisfies_the_recursion_at_its_split(t, m):
    """C(t, m) = min_y Q(t, m, y): Q is convex in y, so a local minimum at D(t, m) is global."""
    y = hsm_split(t, m)

    def q(y):
        return y + hsm_cost(t - y, m - 1) + hsm_cost(y, m)

    assert q(y) == hsm_cost(t, m) == mb.cost(t, m, strategy="hsm")
    assert q(y - 1) >= q(y) <= q(y + 1)


# -- every plan is valid, and its counts come from the replay ---------------------------------

ALPHAS = st.sampled_from([1, 1.5, 2, 3, 4.5, 7 / 3])


@settings(max_examples=examples(300), deadline=None)
@given(
    steps=st.integers(1, 80),
    fraction=st.floats(0, 1),
    alpha=ALPHAS,
    strategy=st.sampled_from(mb.STRATEGIES),
    model=st.sampled_from(mb.MODELS),
    internal_has_output=st.booleans(),
)
def test_every_plan_is_valid_within_budget_and_costs_what_cost_says(
    steps, fraction, alpha, strategy, model, internal_has_output
):
    assume(  # the paper's model exists for hsm/ism/msm, with internal states holding the output
        model != "paper"
        or (strategy in ("hsm", "ism", "msm") and (strategy == "hsm" or internal_has_output))
    )
    units = grains_for(alpha)
    full = bptt_peak(steps, units)
    smallest = (
        1
        if strategy in ("hsm", "ism", "msm")
        else Fraction(mb.plan(steps, float(full), alpha=alpha, strategy=strategy).peak_memory)
    )
    memory = float(smallest + Fraction(fraction) * (full - smallest))
    kwargs = dict(
        alpha=alpha, strategy=strategy, model=model, internal_has_output=internal_has_output
    )
    plan = mb.plan(steps, memory, **kwargs)
    budget = units.whole_grains(Fraction(memory))
    replay = run_replay(plan.actions, steps, units, budget, internal_has_output)
    assert replay.forward_count == plan.forward_count == mb.cost(steps, memory, **kwargs)
    assert replay.backward_count == steps
    # a float budget within 1e-9 of a whole grain counts as that grain (whole_grains)
    assert units.whole_grains(Fraction(plan.peak_memory)) <= units.whole_grains(Fraction(memory))
    assert plan.forward_count >= steps
    # no save goes unused; the paper's ISM/MSM hold every sub-problem's start by definition
    if strategy == "hsm" or (strategy in ("ism", "msm") and model == "optimal"):
        assert not wasted_saves(plan.actions), wasted_saves(plan.actions)


def wasted_saves(actions) -> list[int]:
    """Indices of saves never used before their free (or the end): a hidden state never
    restored, an internal state neither restored nor read by its backward."""
    uses = {
        "save_hidden": ("restore_hidden", "free_hidden"),
        "save_internal": ("restore_internal", "backward", "free_internal"),
    }
    wasted = []
    for index, action in enumerate(actions):
        if action.op not in uses:
            continue
        *used_by, freed_by = uses[action.op]
        for later in actions[index + 1 :]:
            if later.step == action.step and later.op in used_by:
                break
            if later.step == action.step and later.op == freed_by:
                wasted.append(index)
                break
        else:
            wasted.append(index)
    return wasted


@pytest.mark.parametrize("steps", [1, 2, 5, 17, 99, 100, 101])
def test_baseline_costs_and_peaks_are_exact(steps):
    assert mb.cost(steps, "100%", strategy="bptt") == steps
    assert mb.plan(steps, "100%", strategy="bptt").peak_memory == steps  # 1 + (T-1) at alpha 1
    recompute = mb.plan(steps, 1, strategy="recompute")
    assert recompute.forward_count == steps * (steps + 1) // 2 and recompute.peak_memory == 1
    # Chen: segments of ceil(sqrt T) steps, the last one not recomputed
    length = math.ceil(math.sqrt(steps))
    while (length - 1) ** 2 >= steps:  # guard against float rounding of sqrt
        length -= 1
    segments = -(-steps // length)
    last = steps - (segments - 1) * length
    chen = mb.plan(steps, "100%", alpha=2, strategy="chen")
    assert chen.forward_count == 2 * steps - last
    expected_peak = segments + 2 * (last - 1)  # every start held while the last is reversed
    if segments >= 2:
        expected_peak = max(expected_peak, segments - 1 + 2 * (length - 1))
    assert chen.peak_memory == expected_peak

    # Chen's recursive variant against its recursion written here
    def recursive(n):  # (forwards, midpoints held at once)
        if n <= 1:
            return n, 0
        half = (n + 1) // 2
        right, left = recursive(n - half), recursive(half)
        return half + right[0] + left[0], max(1 + right[1], left[1])

    forwards, depth = recursive(steps)
    plan = mb.plan(steps, "100%", strategy="chen-recursive")
    assert plan.forward_count == forwards and plan.peak_memory == 1 + depth


def test_chen_at_100_steps():
    assert mb.cost(100, "100%", strategy="chen") == 190  # ten segments of ten


def test_percent_memory_is_relative_to_standard_bptt():
    plan = mb.plan(1000, "5%", alpha=5)
    assert plan.peak_memory <= 0.05 * (1 + 5 * 999)
    assert mb.cost(1000, "5%", alpha=5) == mb.cost(1000, 0.05 * (1 + 5 * 999), alpha=5)


def test_more_memory_never_costs_more():
    for strategy in ("hsm", "ism", "msm"):
        costs = [mb.cost(60, m, alpha=2.5, strategy=strategy) for m in range(1, 160)]
        assert costs == sorted(costs, reverse=True)
        assert costs[-1] == (60 if strategy != "hsm" else 119)


def test_progress_callback_and_table_reuse():
    calls = []
    mb.cost(700, 90, alpha=3.25, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (700, 700)
    calls.clear()
    mb.cost(650, 80, alpha=3.25, progress=lambda done, total: calls.append((done, total)))
    assert calls == []  # answered from the cached tables


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["bptt", "chen", "chen-recursive"])
def test_memory_below_a_baseline_names_its_peak(strategy):
    peak = mb.plan(10, "100%", alpha=2, strategy=strategy).peak_memory
    with pytest.raises(ValueError, match=rf"smallest feasible .*: {peak} units"):
        mb.plan(10, peak - 0.5, alpha=2, strategy=strategy)
    assert mb.plan(10, peak, alpha=2, strategy=strategy).peak_memory == peak


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(steps=0, memory=3), ValueError, "steps"),
        (dict(steps=2.5, memory=3), TypeError, "steps"),
        (dict(steps=10, memory=0.5), ValueError, r"memory .*smallest feasible.*: 1 units"),
        (dict(steps=10, memory=-1), ValueError, "memory"),
        (dict(steps=10, memory="-5%"), ValueError, "memory"),
        (dict(steps=10, memory="five"), ValueError, "memory"),
        (dict(steps=10, memory=float("nan")), ValueError, "memory"),
        (dict(steps=10, memory=None), TypeError, "memory"),
        (dict(steps=10, memory=3, alpha=0.5), ValueError, "alpha"),
        (dict(steps=10, memory=3, alpha=math.pi), ValueError, "alpha"),
        (dict(steps=10, memory=3, strategy="revolve"), ValueError, "strategy"),
        (dict(steps=10, memory=3, model="best"), ValueError, "model"),
        (dict(steps=10, memory=3, strategy="chen", model="paper"), ValueError, "model"),
        (
            dict(steps=10, memory=3, strategy="msm", model="paper", internal_has_output=False),
            ValueError,
            "internal_has_output",
        ),
        (dict(steps=10, memory=3, internal_has_output="yes"), TypeError, "internal_has_output"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, pattern):
    kwargs = dict(kwargs)  # the parameter is shared by every run of this test
    steps, memory = kwargs.pop("steps"), kwargs.pop("memory")
    for function in (mb.plan, mb.cost):
        with pytest.raises(error, match=pattern):
            function(steps, memory, **kwargs)
