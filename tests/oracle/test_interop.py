"""checkpoint-schedules' schedules are valid in our model and cost what our optimum says."""

from __future__ import annotations

import numpy as np
import pytest

import mini_bptt as mb
from mini_bptt.oracle.interop import mixed_actions, multistage_actions, revolve_actions
from mini_bptt.planning.plan import Plan
from tests.helpers import make_problem

CASES = [(steps, snapshots) for steps in range(1, 41) for snapshots in range(1, 9)]


@pytest.mark.parametrize("convert", [revolve_actions, multistage_actions])
def test_binomial_schedules_are_valid_and_hsm_optimal(convert):
    for steps, snapshots in CASES:
        verdict = mb.check(convert(steps, snapshots), steps=steps, memory=snapshots)
        assert verdict.valid, (steps, snapshots, verdict.errors)
        assert verdict.forward_count == mb.cost(steps, snapshots, strategy="hsm")


def test_mixed_schedules_are_valid_and_equal_our_optimal_model():
    for steps, snapshots in CASES:
        verdict = mb.check(
            mixed_actions(steps, snapshots),
            steps=steps,
            memory=snapshots,
            alpha=1,
            internal_has_output=False,
        )
        assert verdict.valid, (steps, snapshots, verdict.errors)
        assert verdict.forward_count == verdict.optimal_forward_count


@pytest.mark.parametrize("convert", [revolve_actions, multistage_actions, mixed_actions])
@pytest.mark.parametrize("cell_name", ["rnn", "lstm"])
def test_converted_plans_give_bitwise_equal_gradients(convert, cell_name):
    for steps in range(1, 41):
        cell, xs, h0, head = make_problem(cell_name, steps, 2, seed=steps)
        reference = mb.full_bptt(cell, xs, h0, head)
        for snapshots in range(1, 9):
            plan = Plan(
                steps=steps,
                memory=snapshots,
                alpha=1,
                internal_has_output=convert is not mixed_actions,
                strategy="checkpoint-schedules",
                model="external",
                actions=tuple(convert(steps, snapshots)),
            )
            result = mb.execute(plan, cell, xs, h0, head)
            assert np.array_equal(result.dh0, reference.dh0), (steps, snapshots)
            assert all(np.array_equal(result.grads[k], reference.grads[k]) for k in reference.grads)
