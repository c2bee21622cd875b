"""The optimal model equals an exhaustive search over all valid plans (docs/model.md)."""

from __future__ import annotations

from fractions import Fraction

import pytest

import mini_bptt as mb
from mini_bptt.planning.units import units_for
from tests.planning.exhaustive import min_forward_count

MAX_STEPS = 6


def budgets(steps: int, alpha) -> list[Fraction]:
    """Every budget from 1 to the full-BPTT peak, in steps of the smallest unit 1/q."""
    units = units_for(alpha)
    full = 1 + Fraction(alpha) * (steps - 1)
    return [Fraction(u, units.hidden) for u in range(units.hidden, int(full * units.hidden) + 1)]


@pytest.mark.parametrize("strategy", ["hsm", "ism", "msm"])
@pytest.mark.parametrize("internal_has_output", [True, False])
@pytest.mark.parametrize("alpha", [1, 1.5, 2, 3])
def test_optimal_equals_exhaustive_search(alpha, internal_has_output, strategy):
    for steps in range(1, MAX_STEPS + 1):
        for memory in budgets(steps, alpha):
            truth = min_forward_count(
                steps,
                memory,
                Fraction(alpha),
                internal_has_output,
                allow_hidden=strategy != "ism",
                allow_internal=strategy != "hsm",
            )
            got = mb.cost(
                steps,
                float(memory),
                alpha=alpha,
                strategy=strategy,
                internal_has_output=internal_has_output,
            )
            assert got == truth, (steps, memory)
            plan = mb.plan(
                steps,
                float(memory),
                alpha=alpha,
                strategy=strategy,
                internal_has_output=internal_has_output,
            )
            assert plan.forward_count == truth and plan.peak_memory <= memory


def test_search_is_not_vacuous():
    """The search finds the known extremes, and refuses memory below h[0]."""
    assert min_forward_count(5, Fraction(1), Fraction(1), allow_internal=False) == 15
    assert min_forward_count(5, Fraction(5), Fraction(1), allow_internal=False) == 9
    assert min_forward_count(5, Fraction(5), Fraction(1)) == 5
    assert min_forward_count(3, Fraction(1, 2), Fraction(1)) is None
