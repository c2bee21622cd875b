"""The one budget rule (docs/model.md, *Units*): a budget of ``m`` hidden-state units holds
``floor(m q + 1e-9)`` units, the 1e-9 absolute whatever the size; and ``plan``, ``cost``,
``check``, ``Plan`` and the ``Recorder`` all apply it, so they agree at its boundary."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning.units import TOLERANCE, budget_grains, grains_for
from tests.helpers import examples

ALPHAS = [1, Fraction(3, 2), Fraction(7, 3), Fraction(9, 2), Fraction(999, 1000) + 1]
ALPHAS += [1000, Fraction(10**9 - 1, 1000), 10**6]
UNITS = [1, 2, 38, 10**6, 10**6 + 1, 10**9, 10**12 - 1, 10**12]
TINY = Fraction(1, 10**30)


def whole(memory, alpha, steps=1) -> int:
    return budget_grains(memory, steps, grains_for(alpha))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("units", UNITS)
def test_a_budget_counts_a_unit_exactly_within_1e_9_below_it(alpha, units):
    q = grains_for(alpha).hidden
    at = Fraction(units, q)
    assert whole(at, alpha) == units
    assert whole(at - TOLERANCE / q, alpha) == units  # exactly at the tolerance: in
    assert whole(at - (TOLERANCE + TINY) / q, alpha) == units - 1  # just outside: out
    assert whole(at + (1 - TOLERANCE - TINY) / q, alpha) == units  # short of the next unit
    assert whole(at + (1 - TOLERANCE) / q, alpha) == units + 1  # within 1e-9 of the next


@settings(max_examples=examples(400), deadline=None)
@given(
    alpha=st.fractions(1, 10**6, max_denominator=1000),
    units=st.integers(1, 10**12),
    below=st.fractions(0, 1) | st.sampled_from([TOLERANCE, TOLERANCE + TINY, TOLERANCE - TINY]),
)
@example(alpha=Fraction(7, 3), units=38, below=TOLERANCE)
@example(alpha=Fraction(10**6), units=1000001, below=Fraction(1, 1000))
def test_units_are_floor_of_m_q_plus_1e_9_for_any_alpha_and_size(alpha, units, below):
    """For alpha p/q and a budget ``below`` units under ``units``, the budget holds
    ``units`` exactly when ``below <= 1e-9`` (absolute, however large the budget)."""
    q = grains_for(alpha).hidden
    memory = Fraction(units, q) - below / q
    assert whole(memory, alpha) == (units if below <= TOLERANCE else units - 1)


@pytest.mark.parametrize(
    ("memory", "alpha", "units"),
    [
        (12.666666666666666, Fraction(7, 3), 38),  # 38/3 rounded to a float: means 38/3
        (12.666666666666666, Fraction(4, 3), 38),
        (1000000.999, 10**6, 1000000),  # relatively close to 1000001, not absolutely
        (1e12 + 0.5, 1, 10**12),  # the float is exact: the half unit holds nothing
        (1e12 + 0.5, Fraction(3, 2), 2 * 10**12 + 1),  # ...and is a whole unit at q = 2
        (10**12 / 3, Fraction(7, 3), 10**12 - 1),  # a float rounded down past 1e-9 of a unit
        (np.float64(12.666666666666666), Fraction(7, 3), 38),
        (np.float32(2.5), Fraction(3, 2), 5),
        (np.int64(5), 1, 5),
        ("38/3", Fraction(7, 3), 38),
        ("12.5", 1, 12),
        ("1e12", 1, 10**12),
    ],
)
def test_what_floats_and_other_forms_mean(memory, alpha, units):
    assert whole(memory, alpha) == units


def _bptt_trace(steps: int) -> list[tuple[str, int]]:
    """Keep every internal state: peak ``1 + alpha (T - 1)`` hidden-state units."""
    actions = []
    for i in range(1, steps):
        actions += [("forward", i), ("save_internal", i)]
    actions += [("forward", steps)] + [("backward", i) for i in range(steps, 0, -1)]
    return actions


def _verdicts(actions, steps, memory, alpha):
    """(check, Plan, Recorder, plan('bptt')) each as the error text, or "" when accepted."""
    verdict = mb.check(actions, steps=steps, memory=memory, alpha=alpha)
    outcomes = [verdict.error]
    try:
        mb.Plan(steps, memory, alpha, True, "bptt", "hand", actions)
        outcomes.append("")
    except mb.PlanError as error:
        outcomes.append(str(error))
    recorder = mb.Recorder(steps, memory, alpha=alpha)
    try:
        for op, step in actions:
            getattr(recorder, op)(step)
        outcomes.append("")
    except mb.PlanError as error:
        outcomes.append(str(error))
    assert recorder.result() == verdict
    try:
        planned = mb.plan(steps, memory, alpha=alpha, strategy="bptt")
        assert planned.peak_memory == verdict.peak_memory
        outcomes.append("")
    except mb.InfeasibleMemoryError:
        outcomes.append("infeasible")
    return outcomes


@settings(max_examples=examples(60), deadline=None)
@given(
    alpha=st.sampled_from(ALPHAS) | st.fractions(1, 10**6, max_denominator=1000),
    steps=st.integers(2, 6),
    outside=st.booleans(),
)
@example(alpha=Fraction(10**6), steps=2, outside=True)
@example(alpha=Fraction(10**9 - 1, 1000), steps=6, outside=False)
def test_check_plan_recorder_and_planner_agree_at_the_boundary(alpha, steps, outside):
    """A trace whose peak is ``u`` units is accepted by every entry point at a budget
    1e-9 of a unit below ``u``, and refused by all of them, at the same action, just
    below that: Plan rejects the same over-budget actions as check."""
    units = grains_for(alpha)
    peak = units.hidden + (steps - 1) * units.internal  # in units
    below = 2 * TOLERANCE if outside else TOLERANCE
    memory = Fraction(peak, units.hidden) - below / units.hidden
    actions = _bptt_trace(steps)
    with mb.resource_limits(check_seconds=1e-3):  # the optimum is beside the point here
        outcomes = _verdicts(actions, steps, memory, alpha)
    if outside:
        index = 2 * (steps - 1) - 1  # the last save_internal
        assert outcomes[:3] == [outcomes[0]] * 3 and outcomes[3] == "infeasible"
        assert outcomes[0].startswith(f"action {index} (save_internal {steps - 1}): memory")
    else:
        assert outcomes == ["", "", "", ""]


def test_the_issue_case_a_million_and_0_999_units_is_not_a_million_and_one():
    actions = [("forward", 1), ("save_internal", 1), ("forward", 2)]
    actions += [("backward", 2), ("backward", 1)]
    with mb.resource_limits(check_seconds=1e-3):
        verdict = mb.check(actions, steps=2, memory=1000000.999, alpha=10**6)
        assert not verdict.valid
        assert verdict.error == (
            "action 1 (save_internal 1): memory would reach 1000001 units, "
            "over the budget of 1000000"
        )
        with pytest.raises(mb.PlanError, match=r"^action 1 \(save_internal 1\): memory"):
            mb.Plan(2, 1000000.999, 10**6, True, "hand", "hand", actions)
        with pytest.raises(mb.InfeasibleMemoryError):
            mb.plan(2, 1000000.999, alpha=10**6, strategy="bptt")
        assert mb.check(actions, steps=2, memory=1000001, alpha=10**6).valid
