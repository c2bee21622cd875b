"""A request is worked out once: ``Problem.of`` applies the one budget rule, and everyone
who runs, checks, records or draws a plan reads that same ``Problem``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning.problem import Problem
from mini_bptt.planning.units import budget_grains, grains_for
from tests.helpers import forged_plan, make_problem

alphas = st.sampled_from([1, 2, 4.5, Fraction(7, 3), 5, 10])
memories = st.one_of(
    st.integers(1, 400),
    st.floats(1, 400, allow_nan=False),
    st.fractions(1, 400, max_denominator=50),
    st.integers(1, 100).map(lambda p: f"{p}%"),
)


@given(st.integers(1, 300), memories, alphas, st.booleans())
def test_the_problem_applies_the_one_budget_rule(steps, memory, alpha, flag):
    problem = Problem.of(steps, memory, alpha, flag)
    grains = grains_for(alpha)
    assert problem.grains == grains and problem.exact_alpha == grains.alpha
    assert problem.budget == budget_grains(memory, steps, grains)
    assert problem.budget_units == grains.in_units(problem.budget)
    assert problem.full_bptt_peak == 1 + grains.alpha * (steps - 1)
    assert problem.dp_budget == min(problem.budget, grains.whole_grains(problem.full_bptt_peak))
    assert (problem.steps, problem.internal_has_output) == (steps, flag)


@given(st.integers(1, 40), st.integers(1, 40), alphas, st.booleans())
def test_plan_check_and_recorder_keep_the_problem_they_were_given(steps, memory, alpha, flag):
    expected = Problem.of(steps, memory, alpha, flag)
    plan = mb.plan(steps, memory, alpha=alpha, internal_has_output=flag)
    assert plan.problem == expected
    assert mb.Plan.from_json(plan.to_json()).problem == expected
    recorder = mb.Recorder(steps, memory, alpha=alpha, internal_has_output=flag)
    assert recorder.problem == expected


def test_numpy_numbers_become_plain_python_ones():
    problem = Problem.of(np.int64(10), np.float64(3.0), np.int32(2))
    assert type(problem.steps) is int and type(problem.memory) is int
    assert type(problem.alpha) is int and problem.memory == 3 and problem.alpha == 2


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ((0, 3), "steps"),
        ((3, "lots"), "memory"),
        ((3, 3, 0.5), "alpha"),
        ((3, 3, 1, "yes"), "internal_has_output"),
    ],
)
def test_a_bad_argument_is_named(arguments, name):
    with pytest.raises((TypeError, ValueError), match=name):
        Problem.of(*arguments)


def test_the_executor_runs_within_the_plans_problem():
    # the same actions run within a problem of 3 units and are refused within one of 2:
    # the executor reads the budget from the plan's problem
    plan = mb.plan(4, 3, strategy="hsm")
    assert plan.peak_memory == 3
    actions = [(a.op, a.step) for a in plan.actions]
    cell, xs, h0, head = make_problem("rnn", 4, 1)
    full = mb.full_bptt(cell, xs, h0, head)
    ran = mb.execute(forged_plan(actions, 4, 3, 1), cell, xs, h0, head)
    assert all(np.array_equal(ran.grads[k], full.grads[k]) for k in full.grads)
    with pytest.raises(mb.PlanError, match=r"over the budget of 2$"):
        mb.execute(forged_plan(actions, 4, 2, 1), cell, xs, h0, head)
